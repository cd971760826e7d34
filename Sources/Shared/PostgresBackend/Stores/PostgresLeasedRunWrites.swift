import Foundation
import JobQueue
import Logging
import PostgresNIO
import Reports
import ReportsSupport

/// Every database write the `run-report` handler makes on PostgreSQL, each in a transaction that first
/// locks the job's row `FOR SHARE` while its lease holds (`JobLease.requireHeld(on:)`): a worker that
/// lost its lease changes no run row and no page id (the rules of `LeasedRunWrites` on SQLite).
struct PostgresLeasedRunWrites: LeasedRunRecorder {
    let database: PostgresReportsDatabase
    let lease: JobLease
    let reportId: String
    let runId: String
    let now: @Sendable () -> Date

    /// Runs `body` only while the lease holds, in one transaction.
    @discardableResult
    private func write<T: Sendable>(_ body: (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let (lease, logger) = (lease, database.logger)
        return try await database.withTransaction { connection in
            try await lease.requireHeld(on: connection, logger: logger)
            return try await body(connection, logger)
        }
    }

    func claim(attempt: Int) async throws -> RunClaim? {
        let (lease, reportId, runId, nowMs) = (lease, reportId, runId, Timestamp.milliseconds(now()))
        return try await write { connection, logger -> RunClaim? in
            // A second claim of the report waits for the first's row lock, then re-reads the row: it
            // sees the first job's claim, which is live, and takes nothing.
            let claimed =
                try await connection.checkedQuery(
                    """
                    UPDATE reports SET active_job_id = \(lease.jobId), active_lease_token = \(lease.token)
                    WHERE id = \(reportId) AND (active_job_id IS NULL OR active_job_id = \(lease.jobId)
                        OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = reports.active_job_id
                            AND jobs.state = 'running' AND jobs.lease_token = reports.active_lease_token))
                    RETURNING 1
                    """, logger: logger
                ).collect().count == 1
            guard
                let row = try await connection.checkedQuery(
                    """
                    SELECT \(unescaped: ReportRow.columns), page_id, page_created_at, pending_create_at,
                        (SELECT body FROM report_snapshots WHERE report_id = reports.id) AS snapshot
                    FROM reports WHERE id = \(reportId)
                    """, logger: logger
                ).collect().first
            else { throw JobFailure.permanent("report_deleted", "the report was deleted") }
            guard claimed else { return nil }
            let report = try ReportRow.decode(row)
            let random = row.makeRandomAccess()
            let storedPage = try random["page_id"].decode(String?.self)
            let created = try random["page_created_at"].decode(Int64?.self)
            let pending = try random["pending_create_at"].decode(Int64?.self)
            let snapshot = try random["snapshot"].decode(Data?.self)
            try await connection.checkedQuery(
                """
                UPDATE runs SET status = 'running', attempt = \(attempt), started_at = coalesce(started_at, \(nowMs))
                WHERE id = \(runId)
                """, logger: logger)
            let site = try await PostgresInstallationStore.site(connection, id: report.installationId, logger)
            return RunClaim(
                report: report, installation: site?.installation, systemToken: site?.systemToken,
                page: ReportPage(
                    id: storedPage, createdAt: created.map(Timestamp.date(milliseconds:)),
                    pendingCreateSince: pending.map(Timestamp.date(milliseconds:))),
                lastSnapshot: snapshot)
        }
    }

    func createPending() async throws {
        let (reportId, nowMs) = (reportId, Timestamp.milliseconds(now()))
        try await write { connection, logger in
            try await connection.checkedQuery(
                "UPDATE reports SET pending_create_at = coalesce(pending_create_at, \(nowMs)) WHERE id = \(reportId)",
                logger: logger)
        }
    }

    func createNotSent() async throws {
        let reportId = reportId
        try await write { connection, logger in
            try await connection.checkedQuery(
                "UPDATE reports SET pending_create_at = NULL WHERE id = \(reportId)", logger: logger)
        }
    }

    func pageKnown(_ page: WrittenPage) async throws {
        let (reportId, nowMs) = (reportId, Timestamp.milliseconds(now()))
        try await write { connection, logger in
            try await connection.checkedQuery(
                """
                UPDATE reports SET page_id = \(page.id), page_url = coalesce(\(page.url), page_url),
                    page_created_at = CASE WHEN \(page.created) THEN \(nowMs)
                        ELSE coalesce(pending_create_at, page_created_at) END,
                    pending_create_at = NULL
                WHERE id = \(reportId)
                """, logger: logger)
        }
    }
}
