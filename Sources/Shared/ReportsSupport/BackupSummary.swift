/// What `enqueuer backup` wrote: the copy's size and the schema migrations it carries.
public struct BackupSummary: Sendable, Equatable {
    public var bytes: Int
    public var migrations: [String]

    public init(bytes: Int, migrations: [String]) {
        self.bytes = bytes
        self.migrations = migrations
    }
}
