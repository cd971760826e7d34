public import Foundation
public import Logging
public import ServiceLifecycle

/// Applies the retention rules in a worker process: one pass when the worker starts, then
/// one every `interval`. Every worker runs it; a pass finds little left to do after another worker's,
/// and each deletion re-checks its condition, so passes racing on one database are harmless.
public struct DataRetentionService: Service {
    let store: any DataLifecycleStore
    let rules: RetentionRules
    let interval: Duration
    let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        store: any DataLifecycleStore, rules: RetentionRules, interval: Duration = .seconds(600), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.rules = rules
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { await pass() }
    }

    func pass() async {
        do {
            let pruned = try await store.prune(rules, now: now())
            if pruned.isEmpty { return }
            // Counts and installation ids only: never a token or anything a report read.
            logger.info(
                "retention pass deleted expired data",
                metadata: [
                    "runs": "\(pruned.runs)", "oauth_nonces": "\(pruned.oauthNonces)",
                    "pending_connections": "\(pruned.pendingConnections)", "budget_rows": "\(pruned.budgetRows)",
                    "forwarded_tokens": "\(pruned.forwardedTokens)",
                    "installations": "\(pruned.installations.map(\.installationId))",
                ])
        } catch is CancellationError {
        } catch {
            logger.error("retention pass failed; retrying later", metadata: ["error": "\(type(of: error))"])
        }
    }
}
