public import Foundation
import JobQueue
public import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// `enqueuer cron` on PostgreSQL (the rules of `ReportScheduler` on SQLite): each due report gets one
/// run and job (joining its waiting run if it has one), and `next_run_at` moves to the first slot after
/// now, so slots missed during downtime collapse into one run. A batch locks the due rows it takes with
/// `FOR UPDATE SKIP LOCKED`: schedulers on several hosts split the due reports between them instead of
/// queueing a slot twice, and none waits for another. A site whose admin paused its schedules is left out.
public struct PostgresReportScheduler: DueReportScheduling {
    public let database: PostgresReportsDatabase
    public let queue: PostgresJobQueue
    public let logger: Logger
    /// Reports of a site silent for `retention.installationIdleDays` do not run (ReportScheduler).
    public let retention: RetentionRules
    /// Sites whose licence a Forge call said is not active pause (`LicensePolicy`, ReportScheduler).
    public let license: LicensePolicy
    private let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, queue: PostgresJobQueue, logger: Logger,
        retention: RetentionRules = .init(), license: LicensePolicy = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.queue = queue
        self.logger = logger
        self.retention = retention
        self.license = license
        self.now = now
    }

    public func batch(_ batch: Int) async throws -> (tick: SchedulerTick, due: Int) {
        let nowDate = now()
        let now = Timestamp.milliseconds(nowDate)
        let activeSince = Timestamp.milliseconds(retention.goneBefore(nowDate))
        let (queue, logger) = (queue, database.logger)
        let (tick, due) = try await database.withTransaction { connection -> (SchedulerTick, Int) in
            var tick = SchedulerTick()
            let due = try await connection.checkedQuery(
                """
                SELECT \(unescaped: ReportRow.columns) FROM reports
                WHERE enabled AND next_run_at IS NOT NULL AND next_run_at <= \(now)
                    AND installation_id IN (SELECT id FROM installations WHERE last_seen_at >= \(activeSince)
                        AND (NOT \(license.pausesUnlicensedSites) OR license_active IS DISTINCT FROM false)
                        AND schedules_paused_at IS NULL)
                ORDER BY next_run_at LIMIT \(batch) FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).collect().map(ReportRow.decode)
            var scheduled: [RunAdmission.Request] = []
            for report in due {
                guard let cron = report.scheduleCron, let zone = report.scheduleTimeZone,
                    let schedule = try? CronSchedule(cron: cron, timeZone: zone)
                else {
                    try await connection.checkedQuery(
                        "UPDATE reports SET next_run_at = NULL WHERE id = \(report.id)", logger: logger)
                    tick.invalid += 1
                    continue
                }
                let next = schedule.nextRun(after: nowDate).map(Timestamp.milliseconds)
                try await connection.checkedQuery(
                    "UPDATE reports SET next_run_at = \(next) WHERE id = \(report.id)", logger: logger)
                let parameters = RunReportJob(
                    runId: UUID().uuidString.lowercased(), reportId: report.id,
                    installationId: report.installationId, ownerAccountId: report.ownerAccountId)
                scheduled.append(.init(job: parameters, trigger: .schedule, slotAt: report.nextRunAt, limit: nil))
            }
            for (decision, _) in try await PostgresRunStore.admit(
                connection, scheduled, queue: queue, now: now, logger: logger,
                decide: { try RunAdmission.decide($0, $1, now: now) })
            {
                if case .join = decision { tick.joined += 1 } else { tick.enqueued += 1 }
            }
            return (tick, due.count)
        }
        if tick.enqueued > 0 {
            queue.notifier.notify()
            self.logger.info(
                "scheduled reports enqueued", metadata: ["enqueued": "\(tick.enqueued)", "joined": "\(tick.joined)"])
        }
        if tick.invalid > 0 {
            self.logger.warning(
                "reports with an invalid schedule were unscheduled", metadata: ["reports": "\(tick.invalid)"])
        }
        return (tick, due)
    }
}
