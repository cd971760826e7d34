/// Where the OneNote clients take a slot of a Microsoft user's request budget before each call
/// (docs/microsoft-apis.md §4.2). The clients only need "run this holding a slot"; the shared,
/// cross-process bookkeeping is `OneNoteRateLimiter` (this module), over each backend's budget storage.
public protocol OneNoteBudget: Sendable {
    /// Runs `body` holding one of `user`'s slots; throws an `UpstreamError` of kind `budgetSpent`
    /// when the budget is spent.
    func withSlot<T: Sendable>(user: String, _ body: () async throws -> T) async throws -> T
}
