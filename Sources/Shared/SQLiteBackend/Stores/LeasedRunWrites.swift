import Foundation
import GRDB
import JobQueue
import Reports
import ReportsSupport
import Upstream

/// The `run-report` handler's database writes while the destination writes the page (the run was
/// started with the lease, `RunClaims`), each conditioned on the job's lease in the same transaction: a worker that lost its lease — paused, cut off, slow — changes no run
/// row and no page id, whatever it still believes. A refused write throws `LeaseLostError`.
struct LeasedRunWrites: RunPageRecorder {
    let database: ReportsDatabase
    let lease: JobLease
    let reportId: String
    let now: @Sendable () -> Date

    /// Runs `body` only while the lease holds, in one write transaction.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let lease = lease
        return try await database.pool.write { db in
            try lease.requireHeld(db)
            return try body(db)
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
