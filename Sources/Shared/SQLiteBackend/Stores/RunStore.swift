public import Foundation
import GRDB
import JobQueue
public import JobQueueSQLite
public import Reports
import ReportsSupport
public import SQLiteStorage
public import Security

/// Creates runs and their jobs together, and reads run history — scoped by owner.
public struct RunStore: RunRequests {
    public typealias RequestResult = RunRequestResult

    public let database: ReportsDatabase
    public let queue: SQLiteJobQueue
    public let vault: TokenVault
    /// Run now requests that create a run, per user and minute.
    public let runNowPerMinute: Int
    private let now: @Sendable () -> Date

    public init(
        database: ReportsDatabase, queue: SQLiteJobQueue, vault: TokenVault,
        runNowPerMinute: Int = TenantLimits().runNowPerMinute,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.queue = queue
        self.vault = vault
        self.runNowPerMinute = runNowPerMinute
        self.now = now
    }

    /// "Run now": at most one run of a report waits and one runs. The forwarded user token,
    /// if any, is sealed for this run and travels in the job.
    public func requestRun(_ owner: ReportOwner, reportId: String, userToken: Secret?) async throws -> RequestResult {
        let nowDate = now()
        let now = Timestamp.milliseconds(nowDate)
        let runId = UUID().uuidString.lowercased()
        var sealedToken: String?
        var tokenExpiry: Int64?
        if let userToken, !userToken.isEmpty {
            sealedToken = Base64URL.encode(
                try vault.seal(
                    userToken, context: .forwardedUserToken(installationId: owner.installationId, runId: runId)))
            tokenExpiry = SystemTokens.expiry(of: userToken).map(Timestamp.milliseconds)
        }
        let (token, expiry) = (sealedToken, tokenExpiry)
        let queue = queue
        let perMinute = runNowPerMinute
        let result = try await database.pool.writeWithoutTransaction { db -> RequestResult in
            var result = RequestResult.reportNotFound
            try db.inTransaction(.immediate) {
                guard try ReportStore.fetch(db, owner, reportId) != nil else { return .rollback }
                let limit = UserRateLimit(.runNow, perMinute: perMinute)
                if let wait = limit.wait(recent: try UserRequestRecords.recent(db, owner, limit, now: now), now: now) {
                    // Joining a waiting run costs nothing, so only a request that would queue one is refused.
                    if case .joined(let run)? = try Self.waitingRun(db, reportId: reportId) {
                        result = .joined(run)
                    } else {
                        result = .rateLimited(retryAfter: wait)
                    }
                    return .rollback
                }
                let job = RunReportJob(
                    runId: runId, reportId: reportId, installationId: owner.installationId,
                    ownerAccountId: owner.accountId,
                    userToken: token, userTokenExpiresAt: expiry)
                result = try Self.enqueueRun(db, job, trigger: .manual, queue: queue, now: now)
                if case .joined = result { return .commit }
                try UserRequestRecords.record(db, owner, .runNow, now: now)
                return .commit
            }
            return result
        }
        switch result {
        case .queued, .followUp: queue.notifier.notify()
        case .joined, .reportNotFound, .rateLimited: break
        }
        return result
    }

    /// The report's run that waits and has not started, if any (a Run now joins it).
    static func waitingRun(_ db: Database, reportId: String) throws -> RequestResult? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT runs.* FROM runs JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.report_id = ? AND jobs.state = 'available' ORDER BY runs.queued_at DESC LIMIT 1
                """, arguments: [reportId]
        ).map { .joined(try ReportRun(row: $0)) }
    }

    /// Creates a run and its job in the caller's transaction, unless a run of the report is already
    /// waiting (then that run is returned: it has not read Jira yet). A report whose run is running gets
    /// one follow-up. Used by Run now and by the scheduler, so both keep the same rule.
    /// A scheduled run records the slot it is for (`slotAt`), so lateness can be measured.
    static func enqueueRun(
        _ db: Database, _ parameters: RunReportJob, trigger: ReportRun.Trigger, queue: SQLiteJobQueue, now: Int64,
        slotAt: Int64? = nil
    ) throws -> RequestResult {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT runs.*, jobs.state AS job_state FROM runs JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.report_id = ? AND jobs.state IN ('available', 'running')
                ORDER BY runs.queued_at DESC
                """, arguments: [parameters.reportId])
        // A deferred job (waiting behind a running one) is 'available' too: it has not started.
        if let waiting = rows.first(where: { $0["job_state"] == "available" }) {
            return .joined(try ReportRun(row: waiting))
        }
        let running = try rows.first.map { try ReportRun(row: $0) }
        // No unique key: the rule above (in this immediate transaction) is what keeps one run waiting.
        let key = try fairnessKey(db, installationId: parameters.installationId, accountId: parameters.ownerAccountId)
        let job = try NewJob(
            kind: RunReportJob.kind, parameters: parameters, priority: trigger == .manual ? 10 : 0, fairnessKey: key)
        let enqueued = try queue.enqueue([job], in: db)[0]
        let run = ReportRun(
            id: parameters.runId, reportId: parameters.reportId, installationId: parameters.installationId,
            jobId: enqueued.jobId, trigger: trigger,
            status: .queued, attempt: 0, queuedAt: now)
        try run.insert(db)
        if let slotAt {
            try db.execute(sql: "UPDATE runs SET slot_at = ? WHERE id = ?", arguments: [slotAt, run.id])
        }
        if let running { return .followUp(run, running: running) }
        return .queued(run)
    }

    /// Whose turn a run takes in the queue: the Microsoft user whose OneNote budget its
    /// writes spend, or, before the owner has connected, the owner in Jira.
    static func fairnessKey(_ db: Database, installationId: String, accountId: String) throws -> String {
        if let user = try String.fetchOne(
            db,
            sql: """
                SELECT microsoft_user_id FROM microsoft_connections WHERE installation_id = ? AND account_id = ?
                """, arguments: [installationId, accountId])
        {
            return "ms:\(user)"
        }
        return "jira:\(installationId):\(accountId)"
    }

    public func runs(_ owner: ReportOwner, reportId: String, limit: Int) async throws -> [ReportRun]? {
        try await database.pool.read { db in
            guard try ReportStore.fetch(db, owner, reportId) != nil else { return nil }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT runs.*, \(Self.nextAttemptColumn) FROM runs LEFT JOIN jobs ON jobs.id = runs.job_id
                    WHERE runs.report_id = ? ORDER BY runs.queued_at DESC, runs.id LIMIT ?
                    """, arguments: [reportId, limit]
            ).map(Self.run(from:))
        }
    }

    public func run(_ owner: ReportOwner, id: String) async throws -> ReportRun? {
        try await database.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT runs.*, \(Self.nextAttemptColumn) FROM runs JOIN reports ON reports.id = runs.report_id
                    LEFT JOIN jobs ON jobs.id = runs.job_id
                    WHERE runs.id = ? AND reports.installation_id = ? AND reports.owner_account_id = ?
                    """, arguments: [id, owner.installationId, owner.accountId]
            ).map(Self.run(from:))
        }
    }

    /// When a waiting run's job is due: only for a run that waits on a job that has not started.
    private static let nextAttemptColumn =
        "CASE WHEN runs.status = 'queued' AND jobs.state = 'available' THEN jobs.run_at END AS next_attempt_at"

    private static func run(from row: Row) throws -> ReportRun {
        var run = try ReportRun(row: row)
        run.nextAttemptAt = row["next_attempt_at"]
        return run
    }
}
