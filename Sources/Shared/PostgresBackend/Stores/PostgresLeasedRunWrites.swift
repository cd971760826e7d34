import Foundation
import JobQueue
import Logging
import PostgresNIO
import Reports
import ReportsSupport

/// The `run-report` handler's database writes on PostgreSQL while the destination writes the page (the
/// run was started with the lease, `PostgresRunClaims`), each in a transaction that first
/// locks the job's row `FOR SHARE` while its lease holds (`JobLease.requireHeld(on:)`): a worker that
/// lost its lease changes no run row and no page id (the rules of `LeasedRunWrites` on SQLite).
struct PostgresLeasedRunWrites: RunPageRecorder {
    let database: PostgresReportsDatabase
    let lease: JobLease
    let reportId: String
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
