public import Foundation
public import Logging
import ReportsSupport
public import ServiceLifecycle
import Upstream

/// Reports every stored Atlassian account id to Atlassian's personal data reporting API, per site, at
/// the cadence the endpoint asks for, and erases what is stored for an account reported `closed`
/// (docs/upstream-notes.md, "Personal data reporting"). `updated` needs nothing: the
/// service caches no Atlassian profile data (names, e-mail, avatars), only account ids.
///
/// Runs in every worker that runs reports, checking for due sites every `interval`; a site is claimed
/// for an hour before it is reported, so two workers never report one site at once.
public struct AccountReportingService: Service {
    let store: any PersonalDataStore
    /// Where the sites' system tokens come from (the run-report handler's stores).
    let tokens: any RunReportStores
    let reporter: any AccountReporting
    let interval: Duration
    let logger: Logger
    private let now: @Sendable () -> Date

    /// Without a cycle period in the answer, report again after this (UNCONFIRMED whether the endpoint
    /// always sends one; a week is Atlassian's documented polling cadence for Connect apps' reporting).
    static let defaultCycle: Duration = .seconds(7 * 86_400)
    /// Bounds on the cycle the endpoint asks for, whatever unit its header turns out to use.
    static let longestCycle: Duration = .seconds(30 * 86_400)
    /// How long a claimed site is left to the worker that claimed it.
    static let claimLease: Duration = .seconds(3_600)

    public init(
        store: any PersonalDataStore, tokens: any RunReportStores, reporter: any AccountReporting,
        interval: Duration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.tokens = tokens
        self.reporter = reporter
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        await repeatUntilShutdown(every: interval) { _ = await pass() }
    }

    /// Reports every due site once; returns what closed accounts it erased.
    @discardableResult
    func pass() async -> [ErasedRows] {
        var erased: [ErasedRows] = []
        do {
            for id in try await store.claimAccountReports(now: now(), lease: Self.claimLease, limit: 20) {
                erased += await report(installationId: id)
            }
        } catch {
            logger.error("personal data reporting failed; retrying later", metadata: ["error": "\(type(of: error))"])
        }
        return erased
    }

    private func report(installationId: String) async -> [ErasedRows] {
        let started = now()
        var erased: [ErasedRows] = []
        var wait: Duration
        do {
            wait = try await report(installationId: installationId, at: started, erasing: &erased)
        } catch let error as UpstreamError {
            // Throttled (with or without Retry-After) or refused: wait at least an hour, or what it asked.
            wait = max(error.retryAfter ?? .seconds(3_600), .seconds(3_600))
            logger.warning(
                "personal data reporting call failed; will retry",
                metadata: ["installation": "\(installationId)", "error": "\(error.code)"])
        } catch {
            wait = .seconds(3_600)
            logger.error(
                "personal data reporting failed; will retry",
                metadata: ["installation": "\(installationId)", "error": "\(type(of: error))"])
        }
        try? await store.scheduleAccountReport(installationId: installationId, at: started + wait.timeInterval)
        return erased
    }

    /// Reports the site's accounts and erases the closed ones; returns how long until the next report.
    private func report(installationId: String, at started: Date, erasing erased: inout [ErasedRows]) async throws
        -> Duration
    {
        // The site's system token, sent by Forge's hourly trigger (UNCONFIRMED that the endpoint takes it
        // from a Forge remote: docs/upstream-notes.md). None yet, or no account stored: look again soon.
        guard let (token, expiresAt) = try await tokens.systemToken(installationId: installationId),
            expiresAt > started + 60
        else { return interval }
        let accounts = try await store.storedAccounts(installationId: installationId)
        guard !accounts.isEmpty else { return interval }
        var cycle: Duration?
        for start in stride(from: 0, to: accounts.count, by: maxAccountsPerCall) {
            let batch = Array(accounts[start..<min(start + maxAccountsPerCall, accounts.count)])
            let answer = try await reporter.reportAccounts(systemToken: token, accounts: batch)
            cycle = answer.cyclePeriod ?? cycle
            let asked = Set(batch.map(\.accountId))
            for (accountId, status) in answer.statuses where status == .closed && asked.contains(accountId) {
                erased.append(try await store.eraseAccount(installationId: installationId, accountId: accountId))
            }
        }
        let wait = min(max(cycle ?? Self.defaultCycle, interval), Self.longestCycle)
        logger.info(
            "reported stored accounts to Atlassian",
            metadata: [
                "installation": "\(installationId)", "accounts": "\(accounts.count)",
                "closed_erased": "\(erased.count)", "next_in_seconds": "\(Int(wait.timeInterval))",
            ])
        return wait
    }
}
