public import Foundation
public import ReportsSupport

/// How long the service keeps what it stores (PRIVACY.md). The defaults are what a privacy
/// reviewer asked for: enough history to see what a report did lately, nothing kept for ever.
public struct RetentionRules: Sendable, Equatable {
    /// Finished runs kept per report, newest first (`REPORTS_RUNS_KEPT_PER_REPORT`): 100 is four days of an
    /// hourly report, months of a daily one.
    public var runsPerReport = 100
    /// No finished run is kept longer than this, in days (`REPORTS_RUN_RETENTION_DAYS`).
    var runDays = 90
    /// An installation no Forge call has come from for this many days is gone
    /// (`REPORTS_INSTALLATION_IDLE_DAYS`): its reports stop. Forge calls the service every hour (the
    /// scheduled trigger) while the app is installed, so 30 days of silence is not an outage.
    var installationIdleDays = 30
    /// A gone installation's rows are deleted this many days later (`REPORTS_UNINSTALL_GRACE_DAYS`), so a
    /// site that reinstalls within it finds its reports.
    var uninstallGraceDays = 14
    /// Seconds between two retention passes of a worker, and between its checks for sites whose
    /// account ids are due to be reported to Atlassian (`REPORTS_RETENTION_INTERVAL_SECONDS`).
    var intervalSeconds = 600

    public init() {}

    public var interval: Duration { .seconds(intervalSeconds) }

    public init(environment: [String: String]) throws(ConfigurationError) {
        runsPerReport = try TenantLimits.number(environment, "REPORTS_RUNS_KEPT_PER_REPORT", runsPerReport, 1...10_000)
        runDays = try TenantLimits.number(environment, "REPORTS_RUN_RETENTION_DAYS", runDays, 1...3_650)
        installationIdleDays = try TenantLimits.number(
            environment, "REPORTS_INSTALLATION_IDLE_DAYS", installationIdleDays, 1...365)
        uninstallGraceDays = try TenantLimits.number(
            environment, "REPORTS_UNINSTALL_GRACE_DAYS", uninstallGraceDays, 0...365)
        intervalSeconds = try TenantLimits.number(
            environment, "REPORTS_RETENTION_INTERVAL_SECONDS", intervalSeconds, 1...86_400)
    }

    static let day: TimeInterval = 86_400

    /// Installations last seen before this are gone: their reports do not run.
    public func goneBefore(_ now: Date) -> Date { now - Double(installationIdleDays) * Self.day }
    /// Installations last seen before this are deleted.
    public func deleteBefore(_ now: Date) -> Date {
        now - Double(installationIdleDays + uninstallGraceDays) * Self.day
    }
    /// Finished runs queued before this are deleted.
    public func runsQueuedBefore(_ now: Date) -> Date { now - Double(runDays) * Self.day }
}

/// What one retention pass deleted.
public struct HistoryPruned: Sendable, Equatable, Codable {
    public var runs = 0
    public var oauthNonces = 0
    public var pendingConnections = 0
    public var budgetRows = 0
    /// Finished or expired jobs whose forwarded Atlassian token was removed from the payload (a job that
    /// finishes loses its token at once; this catches tokens that expired while their job waited).
    public var forwardedTokens = 0
    /// Per-user request records older than an hour and expired connect-confirmation names.
    public var requestRecords = 0
    public var installations: [ErasedRows] = []

    public init() {}

    var isEmpty: Bool { self == HistoryPruned() }
}

/// What an erasure removed from one site: the whole site (`enqueuer tenant delete`, the uninstall grace
/// period) or one closed account on it (personal data reporting), in rows per kind.
public struct ErasedRows: Sendable, Equatable, Codable {
    var installationId: String
    public var reports = 0
    public var runs = 0
    public var jobs = 0
    public var microsoftConnections = 0
    public var pendingConnections = 0

    public init(installationId: String) {
        self.installationId = installationId
    }
}

/// The retention rules' writes and the operator's row counts, per backend (`SQLiteBackend`,
/// `PostgresBackend`), held to the same behaviour by `DataRetentionTests`.
public protocol DataLifecycleStore: Sendable {
    /// One retention pass at `now`: old and surplus finished runs, expired nonces, pending connections and
    /// budget rows, forwarded tokens of finished or expired jobs, and installations past their grace
    /// period. Deletes in batches so no statement holds locks for long.
    func prune(_ rules: RetentionRules, now: Date) async throws -> HistoryPruned
    /// Deletes an installation and everything stored for it, at once; nil if it is not stored.
    func deleteInstallation(_ id: String) async throws -> ErasedRows?
    /// Rows per table (`enqueuer data stats`).
    func rowCounts() async throws -> [String: Int]
}

/// The tables `rowCounts` reports, the same on both backends (PRIVACY.md lists what each holds).
public let storedTables = [
    "installations", "microsoft_connections", "oauth_pending_connections", "oauth_nonces", "reports", "runs",
    "jobs", "queue_keys", "queue_clock", "onenote_requests", "onenote_inflight", "user_requests", "connect_labels",
]
