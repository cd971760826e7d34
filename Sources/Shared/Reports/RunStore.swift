public import Foundation
import GRDB

/// Creates runs and their jobs together, and reads run history — scoped by owner.
public struct RunStore: Sendable {
    public let database: ReportsDatabase
    public let queue: SQLiteJobQueue
    public let vault: TokenVault
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, queue: SQLiteJobQueue, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.queue = queue
        self.vault = vault
        self.now = now
    }

    public enum RequestResult: Sendable, Equatable {
        /// A new run was queued.
        case queued(ReportRun)
        /// A run of this report was already waiting or running; here it is.
        case existing(ReportRun)
        case reportNotFound

        public var run: ReportRun? {
            switch self {
            case .queued(let run), .existing(let run): run
            case .reportNotFound: nil
            }
        }
    }

    /// "Run now": queues a run unless one of the report is waiting or running. The forwarded user token,
    /// if any, is sealed for this run and travels in the job.
    public func requestRun(_ owner: ReportOwner, reportId: String, userToken: Secret?) async throws -> RequestResult {
        let nowDate = now()
        let now = Timestamp.milliseconds(nowDate)
        let runId = UUID().uuidString.lowercased()
        var sealedToken: String?
        var tokenExpiry: Int64?
        if let userToken, !userToken.isEmpty {
            sealedToken = Base64URL.encode(try vault.seal(userToken, context: .forwardedUserToken(installationId: owner.installationId, runId: runId)))
            tokenExpiry = InstallationStore.expiry(of: userToken).map(Timestamp.milliseconds)
        }
        let (token, expiry) = (sealedToken, tokenExpiry)
        let queue = queue
        let result = try await database.pool.writeWithoutTransaction { db -> RequestResult in
            var result = RequestResult.reportNotFound
            try db.inTransaction(.immediate) {
                guard try ReportStore.fetch(db, owner, reportId) != nil else { return .rollback }
                if let active = try Self.activeRun(db, reportId: reportId) {
                    result = .existing(active)
                    return .commit
                }
                let job = try NewJob(
                    kind: RunReportJob.kind,
                    parameters: RunReportJob(runId: runId, reportId: reportId, installationId: owner.installationId, ownerAccountId: owner.accountId, userToken: token, userTokenExpiresAt: expiry),
                    priority: 10, uniqueKey: RunReportJob.uniqueKey(reportId: reportId))
                let enqueued = try queue.enqueue([job], in: db)[0]
                let run = ReportRun(
                    id: runId, reportId: reportId, installationId: owner.installationId, jobId: enqueued.jobId, trigger: .manual,
                    status: .queued, attempt: 0, queuedAt: now)
                try run.insert(db)
                result = .queued(run)
                return .commit
            }
            return result
        }
        if case .queued = result { queue.notifier.notify() }
        return result
    }

    /// The run whose job is still waiting or running, if any (the job's state is the truth: a run
    /// whose job was discarded without an update is not "active").
    static func activeRun(_ db: Database, reportId: String) throws -> ReportRun? {
        try ReportRun.fetchOne(db, sql: """
            SELECT runs.* FROM runs JOIN jobs ON jobs.id = runs.job_id
            WHERE runs.report_id = ? AND jobs.state IN ('available', 'running')
            ORDER BY runs.queued_at DESC LIMIT 1
            """, arguments: [reportId])
    }

    public func runs(_ owner: ReportOwner, reportId: String, limit: Int) async throws -> [ReportRun]? {
        try await database.pool.read { db in
            guard try ReportStore.fetch(db, owner, reportId) != nil else { return nil }
            return try ReportRun.fetchAll(db, sql: """
                SELECT * FROM runs WHERE report_id = ? ORDER BY queued_at DESC, id LIMIT ?
                """, arguments: [reportId, limit])
        }
    }

    public func run(_ owner: ReportOwner, id: String) async throws -> ReportRun? {
        try await database.pool.read { db in
            try ReportRun.fetchOne(db, sql: """
                SELECT runs.* FROM runs JOIN reports ON reports.id = runs.report_id
                WHERE runs.id = ? AND reports.installation_id = ? AND reports.owner_account_id = ?
                """, arguments: [id, owner.installationId, owner.accountId])
        }
    }
}
