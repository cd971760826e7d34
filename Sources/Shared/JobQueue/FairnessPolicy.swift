/// Who gets the next worker slot (docs/queue-fairness.md).
public struct FairnessPolicy: Sendable {
    /// Most jobs of one fairness key running at once, across every worker (the key `""` has no cap).
    /// The default is the requests the destination lets one of its users have in flight (the key is
    /// that user: docs/queue-fairness.md), so one user cannot fill every slot.
    public var maxRunningPerKey: Int
    /// A job due for this long is promoted to `agedPriority`: higher priorities come first, but a
    /// scheduled run never waits behind Run nows for longer than this plus a round of the keys.
    public var agingAfter: Duration
    public var agedPriority: Int

    public static let standard = FairnessPolicy(maxRunningPerKey: 2, agingAfter: .seconds(300), agedPriority: 10)

    public init(maxRunningPerKey: Int, agingAfter: Duration, agedPriority: Int) {
        self.maxRunningPerKey = max(maxRunningPerKey, 1)
        self.agingAfter = agingAfter
        self.agedPriority = agedPriority
    }
}
