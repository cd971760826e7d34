public import Foundation
import GRDB
import JobQueue
public import Reports
import ReportsSupport
public import Security

/// Creates runs and their jobs together, and reads run history — scoped by owner.
public struct RunStore: RunRequests {
    public typealias RequestResult = RunRequestResult

    public let database: ReportsDatabase
    public let queue: SQLiteJobQueue
    public let vault: TokenVault
    /// Run now requests that create a run, per user and minute.
    public let runNowPerMinute: Int
    public let now: @Sendable () -> Date

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

    /// Reads the admission state of the owner's report and applies `decide`'s decision, in one immediate
    /// transaction (SQLite's one writer makes the read and the write atomic).
    public func admit(
        _ request: RunAdmission.Request, now: Int64,
        decide: @Sendable (RunAdmission.State) throws -> RunAdmission.Decision
    ) async throws -> (decision: RunAdmission.Decision, jobId: Int64?)? {
        let queue = queue
        let applied = try await database.pool.writeWithoutTransaction { db -> (RunAdmission.Decision, Int64?)? in
            var applied: (RunAdmission.Decision, Int64?)?
            try db.inTransaction(.immediate) {
                guard try ReportStore.fetch(db, request.owner, request.job.reportId) != nil else { return .rollback }
                applied = try Self.admit(db, request, queue: queue, now: now, decide: decide)
                return .commit
            }
            return applied
        }
        if case .enqueue? = applied?.0 { queue.notifier.notify() }
        return applied.map { (decision: $0.0, jobId: $0.1) }
    }

    /// Admits one run in the caller's transaction: Run now and the scheduler both come here.
    static func admit(
        _ db: Database, _ request: RunAdmission.Request, queue: SQLiteJobQueue, now: Int64,
        decide: (RunAdmission.State) throws -> RunAdmission.Decision
    ) throws -> (RunAdmission.Decision, Int64?) {
        let decision = try decide(try admissionState(db, request, now: now))
        guard case .enqueue(let job, var run, let slotAt, _, let counted) = decision else { return (decision, nil) }
        let enqueued = try queue.enqueue([job], in: db)[0]
        run.jobId = enqueued.jobId
        try run.insert(db)
        if let slotAt {
            try db.execute(sql: "UPDATE runs SET slot_at = ? WHERE id = ?", arguments: [slotAt, run.id])
        }
        if let counted { try UserRequestRecords.record(db, request.owner, counted, now: now) }
        return (decision, enqueued.jobId)
    }

    /// What `RunAdmission` decides on: the report's waiting and running runs, the owner's counted
    /// requests, the owner's Microsoft user.
    static func admissionState(_ db: Database, _ request: RunAdmission.Request, now: Int64) throws
        -> RunAdmission.State
    {
        var state = RunAdmission.State()
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT runs.*, jobs.state AS job_state FROM runs JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.report_id = ? AND jobs.state IN ('available', 'running')
                ORDER BY runs.queued_at DESC
                """, arguments: [request.job.reportId])
        for row in rows {
            let available = (row["job_state"] as String?) == "available"
            if available, state.waiting == nil { state.waiting = try ReportRun(row: row) }
            if !available, state.running == nil { state.running = try ReportRun(row: row) }
        }
        if let limit = request.limit {
            state.recentRequests = try UserRequestRecords.recent(db, request.owner, limit, now: now)
        }
        state.microsoftUserId = try String.fetchOne(
            db,
            sql: """
                SELECT microsoft_user_id FROM microsoft_connections WHERE installation_id = ? AND account_id = ?
                """, arguments: [request.job.installationId, request.job.ownerAccountId])
        return state
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
