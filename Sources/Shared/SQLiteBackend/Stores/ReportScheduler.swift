public import Foundation
import GRDB
import JobQueue
public import Logging
public import Reports
import ReportsSupport

/// `enqueuer cron`: enqueues the reports that are due.
///
/// For each enabled report whose `next_run_at` has passed: one `run-report` job and a run row (joining
/// the report's waiting run if it has one: `RunAdmission`'s rule through `RunStore.admit`), then
/// `next_run_at` moves to the first slot after *now*, so slots missed during downtime collapse into one run. All of it happens in one `BEGIN IMMEDIATE`
/// transaction, and `next_run_at` advances only if it still holds the value read (compare-and-set):
/// two schedulers on one database enqueue each slot once. A site whose admin paused its schedules
/// (`SiteAdministrationStorage.setSchedulesPaused`) is left out until they resume.
public struct ReportScheduler: DueReportScheduling {
    public let database: ReportsDatabase
    public let queue: SQLiteJobQueue
    public let logger: Logger
    /// Reports of a site no Forge call has come from within `retention.installationIdleDays` do not run
    /// (the app is taken to be uninstalled). They run again when the site calls again.
    public let retention: RetentionRules
    /// With a licence required, the reports of a site whose licence a Forge call said is not active
    /// do not run until one says it is (`LicensePolicy`).
    public let license: LicensePolicy
    private let now: @Sendable () -> Date

    public init(
        database: ReportsDatabase, queue: SQLiteJobQueue, logger: Logger, retention: RetentionRules = .init(),
        license: LicensePolicy = .init(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.queue = queue
        self.logger = logger
        self.retention = retention
        self.license = license
        self.now = now
    }

    public typealias Tick = SchedulerTick

    public func batch(_ batch: Int) async throws -> (tick: SchedulerTick, due: Int) {
        let nowDate = now()
        let now = Timestamp.milliseconds(nowDate)
        let activeSince = Timestamp.milliseconds(retention.goneBefore(nowDate))
        let queue = queue
        let (tick, dueCount) = try await database.pool.writeWithoutTransaction { db -> (Tick, Int) in
            var tick = Tick()
            var dueCount = 0
            try db.inTransaction(.immediate) {
                let due = try Report.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM reports WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ?
                            AND installation_id IN (SELECT id FROM installations WHERE last_seen_at >= ?
                                AND (? = 0 OR license_active IS NOT 0) AND schedules_paused_at IS NULL)
                        ORDER BY next_run_at LIMIT ?
                        """, arguments: [now, activeSince, license.pausesUnlicensedSites, batch])
                dueCount = due.count
                for report in due {
                    guard let cron = report.scheduleCron, let zone = report.scheduleTimeZone,
                        let schedule = try? CronSchedule(cron: cron, timeZone: zone)
                    else {
                        try db.execute(
                            sql: "UPDATE reports SET next_run_at = NULL WHERE id = ?", arguments: [report.id])
                        tick.invalid += 1
                        continue
                    }
                    let next = schedule.nextRun(after: nowDate).map(Timestamp.milliseconds)
                    try db.execute(
                        sql: "UPDATE reports SET next_run_at = ? WHERE id = ? AND next_run_at = ?",
                        arguments: [next, report.id, report.nextRunAt])
                    guard db.changesCount == 1 else { continue }
                    let parameters = RunReportJob(
                        runId: UUID().uuidString.lowercased(), reportId: report.id,
                        installationId: report.installationId, ownerAccountId: report.ownerAccountId)
                    let request = RunAdmission.Request(
                        job: parameters, trigger: .schedule, slotAt: report.nextRunAt, limit: nil)
                    if case .join = try RunStore.admit(
                        db, request, queue: queue, now: now, decide: { try RunAdmission.decide(request, $0, now: now) }
                    ).0 {
                        tick.joined += 1
                        continue
                    }
                    tick.enqueued += 1
                }
                return .commit
            }
            return (tick, dueCount)
        }
        if tick.enqueued > 0 {
            queue.notifier.notify()
            logger.info(
                "scheduled reports enqueued", metadata: ["enqueued": "\(tick.enqueued)", "joined": "\(tick.joined)"])
        }
        if tick.invalid > 0 {
            logger.warning(
                "reports with an invalid schedule were unscheduled", metadata: ["reports": "\(tick.invalid)"])
        }
        return (tick, dueCount)
    }
}
