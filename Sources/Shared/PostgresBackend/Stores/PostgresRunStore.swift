public import Foundation
import JobQueue
import Logging
import PostgresNIO
public import Reports
import ReportsSupport
public import Security

/// Creates runs and their jobs together on PostgreSQL (`RunAdmission`'s rule), and reads run history,
/// scoped by owner. Where SQLite has one writer, this locks: a request locks its report's
/// row before it looks at the report's runs (so two requests, or a request and the scheduler, cannot
/// both queue a waiting run), and a Run now takes its owner's advisory lock before it counts the
/// minute's requests (`PostgresUserRequests`).
public struct PostgresRunStore: RunRequests {
    public let database: PostgresReportsDatabase
    public let queue: PostgresJobQueue
    public let vault: TokenVault
    public let runNowPerMinute: Int
    public let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, queue: PostgresJobQueue, vault: TokenVault,
        runNowPerMinute: Int = TenantLimits().runNowPerMinute, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.queue = queue
        self.vault = vault
        self.runNowPerMinute = runNowPerMinute
        self.now = now
    }

    /// Locks the owner's report row (and the owner's request record when the request is counted), reads
    /// the admission state and applies `decide`'s decision, in one transaction.
    public func admit(
        _ request: RunAdmission.Request, now: Int64,
        decide: @Sendable (RunAdmission.State) throws -> RunAdmission.Decision
    ) async throws -> (decision: RunAdmission.Decision, jobId: Int64?)? {
        let (queue, logger) = (queue, database.logger)
        let owner = request.owner
        let applied = try await database.withTransaction { connection -> (RunAdmission.Decision, Int64?)? in
            guard
                try await connection.checkedQuery(
                    """
                    SELECT 1 FROM reports WHERE id = \(request.job.reportId)
                    AND installation_id = \(owner.installationId) AND owner_account_id = \(owner.accountId) FOR UPDATE
                    """, logger: logger
                ).collect().count == 1
            else { return nil }
            if let limit = request.limit { try await PostgresUserRequests.lock(connection, owner, limit.kind, logger) }
            return try await Self.admit(
                connection, [request], queue: queue, now: now, logger: logger, decide: { try decide($1) })[0]
        }
        if case .enqueue? = applied?.0 { queue.notifier.notify() }
        return applied.map { (decision: $0.0, jobId: $0.1) }
    }

    /// What `RunAdmission` decides on for one request: the report's waiting and newest running run,
    /// the owner's counted requests, the owner's Microsoft user. The caller holds the report's row lock.
    static func admissionState(
        _ connection: PostgresConnection, _ request: RunAdmission.Request, now: Int64, _ logger: Logger
    ) async throws -> RunAdmission.State {
        var state = RunAdmission.State()
        let rows = try await connection.checkedQuery(
            """
            SELECT \(unescaped: RunRow.columns), jobs.state FROM runs JOIN jobs ON jobs.id = runs.job_id
            WHERE runs.report_id = \(request.job.reportId) AND jobs.state IN ('available', 'running')
            ORDER BY runs.queued_at DESC
            """, logger: logger
        ).collect()
        for row in rows {
            var run = try RunRow.decode(row)
            run.nextAttemptAt = nil  // as created: a request answers with the run, not its schedule
            let available = try row.makeRandomAccess()["state"].decode(String.self) == "available"
            if available, state.waiting == nil { state.waiting = run }
            if !available, state.running == nil { state.running = run }
        }
        if let limit = request.limit {
            state.recentRequests = try await PostgresUserRequests.recent(
                connection, request.owner, limit, now: now, logger)
        }
        state.microsoftUserId = try await connection.checkedQuery(
            """
            SELECT microsoft_user_id FROM microsoft_connections
            WHERE installation_id = \(request.job.installationId) AND account_id = \(request.job.ownerAccountId)
            """, logger: logger
        ).collect().first?.decode(String.self)
        return state
    }

    /// Admits runs in the caller's transaction (which holds the reports' row locks): Run now and the
    /// scheduler both come here. The jobs go to the queue in one batch, whose fairness lanes are locked
    /// in a fixed order: two schedulers enqueueing for the same keys one job at a time, in different
    /// orders, deadlocked.
    static func admit(
        _ connection: PostgresConnection, _ requests: [RunAdmission.Request], queue: PostgresJobQueue, now: Int64,
        logger: Logger, decide: (RunAdmission.Request, RunAdmission.State) throws -> RunAdmission.Decision
    ) async throws -> [(RunAdmission.Decision, Int64?)] {
        var decisions: [RunAdmission.Decision] = []
        for request in requests {
            decisions.append(try decide(request, try await admissionState(connection, request, now: now, logger)))
        }
        var creating: [(index: Int, job: NewJob, run: ReportRun, slotAt: Int64?, counted: UserRequestKind?)] = []
        for (index, decision) in decisions.enumerated() {
            if case .enqueue(let job, let run, let slotAt, _, let counted) = decision {
                creating.append((index, job, run, slotAt, counted))
            }
        }
        var jobIds = [Int64?](repeating: nil, count: requests.count)
        guard !creating.isEmpty else { return Array(zip(decisions, jobIds)) }
        let enqueued = try await queue.enqueue(creating.map(\.job), on: connection)
        let runs = zip(creating, enqueued).map { item, job in
            var run = item.run
            run.jobId = job.jobId
            jobIds[item.index] = job.jobId
            return run
        }
        // PostgresNIO encodes no array of optionals: -1 stands for "no slot" (slots are epoch milliseconds).
        try await connection.checkedQuery(
            """
            INSERT INTO runs (id, report_id, installation_id, job_id, trigger, status, attempt, queued_at, slot_at)
            SELECT id, report_id, installation_id, job_id, trigger, 'queued', 0, \(now), nullif(slot_at, -1)
            FROM unnest(\(runs.map(\.id))::text[], \(runs.map(\.reportId))::text[],
                \(runs.map(\.installationId))::text[], \(runs.map { $0.jobId ?? 0 })::bigint[],
                \(runs.map(\.trigger.rawValue))::text[], \(creating.map { $0.slotAt ?? -1 })::bigint[])
                AS r (id, report_id, installation_id, job_id, trigger, slot_at)
            """, logger: logger)
        for item in creating {
            if let counted = item.counted {
                try await PostgresUserRequests.record(connection, requests[item.index].owner, counted, now: now, logger)
            }
        }
        return Array(zip(decisions, jobIds))
    }

    public func runs(_ owner: ReportOwner, reportId: String, limit: Int) async throws -> [ReportRun]? {
        let logger = database.logger
        return try await database.withConnection { connection -> [ReportRun]? in
            guard try await PostgresReportStore.fetch(connection, owner, reportId, logger) != nil else { return nil }
            return try await connection.checkedQuery(
                """
                SELECT \(unescaped: RunRow.columns) FROM runs LEFT JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.report_id = \(reportId) ORDER BY runs.queued_at DESC, runs.id LIMIT \(limit)
                """, logger: logger
            ).collect().map(RunRow.decode)
        }
    }

    public func run(_ owner: ReportOwner, id: String) async throws -> ReportRun? {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT \(unescaped: RunRow.columns) FROM runs JOIN reports ON reports.id = runs.report_id
                LEFT JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.id = \(id) AND reports.installation_id = \(owner.installationId)
                AND reports.owner_account_id = \(owner.accountId)
                """, logger: logger
            ).collect().first.map(RunRow.decode)
        }
    }
}
