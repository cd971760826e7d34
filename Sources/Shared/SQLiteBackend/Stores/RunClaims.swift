import Foundation
import GRDB
import JobQueue
import Reports
import ReportsSupport

/// A run's start, in the transaction that leases its job (`RunFollowsJob.startsRun(kind:)`): the run is
/// marked running with the lease's attempt, and what the handler needs is read with it — the report,
/// what its row knows about the page, its site with the site's sealed system token, and the snapshot
/// of its last successful run. The queue leases one job of a report at a time (the report's exclusive
/// key), so the report's page has one writer without a claim of its own.
enum RunClaims {
    /// Nil when the job has no run or its report is gone (deleting a report deletes its runs).
    static func start(_ lease: JobLease, at now: Int64, in db: Database) throws -> RunClaim? {
        guard
            let reportId = try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        UPDATE runs SET status = 'running', attempt = ?, started_at = coalesce(started_at, ?)
                        WHERE job_id = ? AND status IN ('queued', 'running')
                        RETURNING report_id
                        """), arguments: [lease.attempt, now, lease.jobId]),
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT page_id, page_created_at, pending_create_at,
                            (SELECT body FROM report_snapshots WHERE report_id = reports.id) AS snapshot
                        FROM reports WHERE id = ?
                        """),
                arguments: [reportId]),
            let report = try Report.fetchOne(db, key: reportId)
        else { return nil }
        let created: Int64? = row["page_created_at"]
        let pending: Int64? = row["pending_create_at"]
        let site = try InstallationStore.site(db, id: report.installationId)
        return RunClaim(
            report: report, installation: site?.installation, systemToken: site?.systemToken,
            page: ReportPage(
                id: row["page_id"], createdAt: created.map(Timestamp.date(milliseconds:)),
                pendingCreateSince: pending.map(Timestamp.date(milliseconds:))),
            lastSnapshot: row["snapshot"])
    }
}
