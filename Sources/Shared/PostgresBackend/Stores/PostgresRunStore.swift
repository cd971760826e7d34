public import Foundation
import JobQueue
public import JobQueuePostgres
import Logging
import PostgresNIO
public import PostgresStorage
public import Reports
import ReportsSupport
public import Security

/// Creates runs and their jobs together on PostgreSQL, and reads run history, scoped by owner (the
/// rules of `RunStore` on SQLite). Where SQLite has one writer, this locks: a request locks its report's
/// row before it looks at the report's runs (so two requests, or a request and the scheduler, cannot
/// both queue a waiting run), and a Run now takes its owner's advisory lock before it counts the
/// minute's requests (`PostgresUserRequests`).
public struct PostgresRunStore: RunRequests {
    public let database: PostgresReportsDatabase
    public let queue: PostgresJobQueue
    public let vault: TokenVault
    public let runNowPerMinute: Int
    private let now: @Sendable () -> Date

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

    public func requestRun(_ owner: ReportOwner, reportId: String, userToken: Secret?) async throws
        -> RunRequestResult
    {
        let now = Timestamp.milliseconds(now())
        let runId = UUID().uuidString.lowercased()
        var token: String?
        var expiry: Int64?
        if let userToken, !userToken.isEmpty {
            token = Base64URL.encode(
                try vault.seal(
                    userToken, context: .forwardedUserToken(installationId: owner.installationId, runId: runId)))
            expiry = SystemTokens.expiry(of: userToken).map(Timestamp.milliseconds)
        }
        let (queue, perMinute, logger) = (queue, runNowPerMinute, database.logger)
        let job = RunReportJob(
            runId: runId, reportId: reportId, installationId: owner.installationId, ownerAccountId: owner.accountId,
            userToken: token, userTokenExpiresAt: expiry)
        let result = try await database.withTransaction { connection -> RunRequestResult in
            guard
                try await connection.checkedQuery(
                    """
                    SELECT 1 FROM reports WHERE id = \(reportId) AND installation_id = \(owner.installationId)
                    AND owner_account_id = \(owner.accountId) FOR UPDATE
                    """, logger: logger
                ).collect().count == 1
            else { return .reportNotFound }
            let limit = UserRateLimit(.runNow, perMinute: perMinute)
            try await PostgresUserRequests.lock(connection, owner, .runNow, logger)
            let recent = try await PostgresUserRequests.recent(connection, owner, limit, now: now, logger)
            if let wait = limit.wait(recent: recent, now: now) {
                // Joining a waiting run costs nothing, so only a request that would queue one is refused.
                if let waiting = try await Self.activeRuns(connection, reportId: reportId, logger).waiting {
                    return .joined(waiting)
                }
                return .rateLimited(retryAfter: wait)
            }
            let result = try await Self.enqueueRuns(
                connection, [RunToCreate(parameters: job)], trigger: .manual, queue: queue, now: now, logger: logger)[0]
            if case .joined = result { return result }
            try await PostgresUserRequests.record(connection, owner, .runNow, now: now, logger)
            return result
        }
        switch result {
        case .queued, .followUp: queue.notifier.notify()
        case .joined, .reportNotFound, .rateLimited: break
        }
        return result
    }

    /// The report's run waiting on a job that has not started (a deferred job is 'available' too), and
    /// its newest running one. The caller holds the report's row lock.
    static func activeRuns(_ connection: PostgresConnection, reportId: String, _ logger: Logger) async throws
        -> (waiting: ReportRun?, running: ReportRun?)
    {
        var waiting: ReportRun?
        var running: ReportRun?
        let rows = try await connection.checkedQuery(
            """
            SELECT \(unescaped: RunRow.columns), jobs.state FROM runs JOIN jobs ON jobs.id = runs.job_id
            WHERE runs.report_id = \(reportId) AND jobs.state IN ('available', 'running')
            ORDER BY runs.queued_at DESC
            """, logger: logger
        ).collect()
        for row in rows {
            var run = try RunRow.decode(row)
            run.nextAttemptAt = nil  // as created: a request answers with the run, not its schedule
            let state = try row.makeRandomAccess()["state"].decode(String.self)
            if state == "available", waiting == nil { waiting = run }
            if running == nil { running = run }
        }
        return (waiting, running)
    }

    /// A run to create: its job's parameters and, for a scheduled run, the slot it is for.
    struct RunToCreate {
        let parameters: RunReportJob
        var slotAt: Int64? = nil
    }

    /// Creates runs and their jobs in the caller's transaction (which holds the reports' row locks),
    /// except for a report whose run is already waiting (then that run is returned: it has not read
    /// Jira yet). A report whose run is running gets one follow-up. Run now and the scheduler both use
    /// it. The jobs go to the queue in one batch, whose fairness lanes are locked in a fixed order: two
    /// schedulers enqueueing for the same keys one job at a time, in different orders, deadlocked.
    static func enqueueRuns(
        _ connection: PostgresConnection, _ requested: [RunToCreate], trigger: ReportRun.Trigger,
        queue: PostgresJobQueue, now: Int64, logger: Logger
    ) async throws -> [RunRequestResult] {
        var results: [RunRequestResult?] = []
        var creating: [(index: Int, run: RunToCreate, running: ReportRun?, job: NewJob)] = []
        for (index, run) in requested.enumerated() {
            let active = try await activeRuns(connection, reportId: run.parameters.reportId, logger)
            if let waiting = active.waiting {
                results.append(.joined(waiting))
                continue
            }
            results.append(nil)
            let key = try await fairnessKey(
                connection, installationId: run.parameters.installationId,
                accountId: run.parameters.ownerAccountId, logger)
            let job = try NewJob(
                kind: RunReportJob.kind, parameters: run.parameters, priority: trigger == .manual ? 10 : 0,
                fairnessKey: key)
            creating.append((index, run, active.running, job))
        }
        guard !creating.isEmpty else { return results.map { $0! } }
        let enqueued = try await queue.enqueue(creating.map(\.job), on: connection)
        let runs = zip(creating, enqueued).map { item, job in
            ReportRun(
                id: item.run.parameters.runId, reportId: item.run.parameters.reportId,
                installationId: item.run.parameters.installationId, jobId: job.jobId, trigger: trigger,
                status: .queued, attempt: 0, queuedAt: now)
        }
        // PostgresNIO encodes no array of optionals: -1 stands for "no slot" (slots are epoch milliseconds).
        try await connection.checkedQuery(
            """
            INSERT INTO runs (id, report_id, installation_id, job_id, trigger, status, attempt, queued_at, slot_at)
            SELECT id, report_id, installation_id, job_id, \(trigger.rawValue), 'queued', 0, \(now), nullif(slot_at, -1)
            FROM unnest(\(runs.map(\.id))::text[], \(runs.map(\.reportId))::text[],
                \(runs.map(\.installationId))::text[], \(runs.map { $0.jobId ?? 0 })::bigint[],
                \(creating.map { $0.run.slotAt ?? -1 })::bigint[]) AS r (id, report_id, installation_id, job_id, slot_at)
            """, logger: logger)
        for (item, run) in zip(creating, runs) {
            results[item.index] = item.running.map { .followUp(run, running: $0) } ?? .queued(run)
        }
        return results.map { $0! }
    }

    /// Whose turn a run takes in the queue (docs/queue-fairness.md): the Microsoft user whose OneNote
    /// budget its writes spend, or, before the owner has connected, the owner in Jira.
    static func fairnessKey(
        _ connection: PostgresConnection, installationId: String, accountId: String, _ logger: Logger
    ) async throws -> String {
        if let user = try await connection.checkedQuery(
            """
            SELECT microsoft_user_id FROM microsoft_connections
            WHERE installation_id = \(installationId) AND account_id = \(accountId)
            """, logger: logger
        ).collect().first?.decode(String.self) {
            return "ms:\(user)"
        }
        return "jira:\(installationId):\(accountId)"
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
