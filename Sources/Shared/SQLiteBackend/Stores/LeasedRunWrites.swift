import Foundation
import GRDB
import JobQueue
import Reports
import ReportsSupport
import Upstream

/// Every database write the `run-report` handler makes, each conditioned on the job's lease in the
/// same transaction: a worker that lost its lease — paused, cut off, slow — changes no run
/// row and no page id, whatever it still believes. A refused write throws `LeaseLostError`.
struct LeasedRunWrites: LeasedRunRecorder {
    let database: ReportsDatabase
    let lease: JobLease
    let reportId: String
    let runId: String
    let now: @Sendable () -> Date

    /// Runs `body` only while the lease holds, in one write transaction.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let lease = lease
        return try await database.pool.write { db in
            try lease.requireHeld(db)
            return try body(db)
        }
    }

    /// Takes the report for this job: one job writes a report's page at a time. Returns nil when
    /// another job of the report holds a live claim (the caller defers); throws when the report is gone.
    /// Marks the run running in the same transaction.
    public func claim(attempt: Int) async throws -> RunClaim? {
        let (lease, reportId, runId, nowMs) = (lease, reportId, runId, Timestamp.milliseconds(now()))
        return try await write { db -> RunClaim? in
            try db.cachedStatement(
                sql: """
                    UPDATE reports SET active_job_id = ?, active_lease_token = ?
                    WHERE id = ? AND (active_job_id IS NULL OR active_job_id = ? OR NOT EXISTS (
                        SELECT 1 FROM jobs WHERE jobs.id = reports.active_job_id AND jobs.state = 'running'
                            AND jobs.lease_token = reports.active_lease_token))
                    """
            ).execute(arguments: [lease.jobId, lease.token, reportId, lease.jobId])
            let claimed = db.changesCount == 1
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT page_id, page_created_at, pending_create_at FROM reports WHERE id = ?"),
                    arguments: [reportId]),
                let report = try Report.fetchOne(db, key: reportId)
            else { throw JobFailure.permanent("report_deleted", "the report was deleted") }
            guard claimed else { return nil }
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = 'running', attempt = ?, started_at = coalesce(started_at, ?) WHERE id = ?
                    """
            ).execute(arguments: [attempt, nowMs, runId])
            let created: Int64? = row["page_created_at"]
            let pending: Int64? = row["pending_create_at"]
            let site = try InstallationStore.site(db, id: report.installationId)
            let snapshot = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT body FROM report_snapshots WHERE report_id = ?"), arguments: [reportId])
            return RunClaim(
                report: report, installation: site?.installation, systemToken: site?.systemToken,
                page: ReportPage(
                    id: row["page_id"], createdAt: created.map(Timestamp.date(milliseconds:)),
                    pendingCreateSince: pending.map(Timestamp.date(milliseconds:))),
                lastSnapshot: snapshot)
        }
    }

    /// A create is about to be sent: its outcome may be lost from here on. The earliest such moment is
    /// kept until a page id is stored, so every lost create stays within the marker search.
    public func createPending() async throws {
        let (reportId, nowMs) = (reportId, Timestamp.milliseconds(now()))
        try await write { db in
            try db.cachedStatement(
                sql: "UPDATE reports SET pending_create_at = coalesce(pending_create_at, ?) WHERE id = ?"
            ).execute(arguments: [nowMs, reportId])
        }
    }

    /// The create was refused by the budget before it was sent: nothing is pending.
    public func createNotSent() async throws {
        let reportId = reportId
        try await write { db in
            try db.cachedStatement(sql: "UPDATE reports SET pending_create_at = NULL WHERE id = ?").execute(arguments: [
                reportId
            ])
        }
    }

    /// The page id is known: stored at once, before any append, and the pending create is settled.
    public func pageKnown(_ page: WrittenPage) async throws {
        let (reportId, nowMs) = (reportId, Timestamp.milliseconds(now()))
        try await write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE reports SET page_id = ?, page_url = coalesce(?, page_url),
                        page_created_at = CASE WHEN ? THEN ? ELSE coalesce(pending_create_at, page_created_at) END,
                        pending_create_at = NULL
                    WHERE id = ?
                    """
            ).execute(arguments: [page.id, page.url, page.created, nowMs, reportId])
        }
    }
}
