import PostgresNIO
import Reports

/// The `reports` and `runs` columns the stores read, and their decoding into the domain types (which
/// know nothing of a database). Listed by name, so a column added later changes nothing here.
enum ReportRow {
    static let columns = """
        reports.id, reports.installation_id, reports.owner_account_id, reports.name, reports.jql, reports.filter_id,
        reports.columns, reports.section_id, reports.page_url, reports.schedule_cron,
        reports.schedule_time_zone, reports.enabled, reports.next_run_at, reports.created_at, reports.updated_at,
        reports.layout
        """

    static func decode(_ row: PostgresRow) throws -> Report {
        let c = try row.decode(
            (
                String, String, String, String, String?, String?, String, String, String?, String?, String?, Bool,
                Int64?, Int64, Int64, String
            ).self)
        return Report(
            id: c.0, installationId: c.1, ownerAccountId: c.2, name: c.3, jql: c.4, filterId: c.5, columns: c.6,
            location: c.7, layout: c.15, pageUrl: c.8, scheduleCron: c.9, scheduleTimeZone: c.10, enabled: c.11,
            nextRunAt: c.12, createdAt: c.13, updatedAt: c.14)
    }
}

enum RunRow {
    /// The run's columns, then when its job is due again (only for a run waiting on a job that has not
    /// started), which needs `jobs` joined (LEFT JOIN: a pruned job leaves `job_id` NULL).
    static let columns = """
        runs.id, runs.report_id, runs.installation_id, runs.job_id, runs.trigger, runs.status, runs.attempt,
        runs.queued_at, runs.started_at, runs.finished_at, runs.issue_count, runs.page_url, runs.error_code,
        runs.error_message,
        CASE WHEN runs.status = 'queued' AND jobs.state = 'available' THEN jobs.run_at END AS next_attempt_at
        """

    static func decode(_ row: PostgresRow) throws -> ReportRun {
        let c = try row.decode(
            (
                String, String, String, Int64?, String, String, Int, Int64, Int64?, Int64?, Int?, String?, String?,
                String?, Int64?
            ).self)
        guard let trigger = ReportRun.Trigger(rawValue: c.4), let status = ReportRun.Status(rawValue: c.5) else {
            throw RowDecodingError(table: "runs")
        }
        return ReportRun(
            id: c.0, reportId: c.1, installationId: c.2, jobId: c.3, trigger: trigger, status: status, attempt: c.6,
            queuedAt: c.7, startedAt: c.8, finishedAt: c.9, issueCount: c.10, pageUrl: c.11, errorCode: c.12,
            errorMessage: c.13, nextAttemptAt: c.14)
    }
}

/// A row holding a value this binary does not know (a newer binary's): refused, not guessed.
struct RowDecodingError: Error, CustomStringConvertible {
    let table: String
    var description: String { "a row of \(table) holds a value this version does not know" }
}
