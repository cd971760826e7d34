import Foundation
import GRDB
public import Microsoft
import Reports

/// The OneNote budget's database part over the SQLite file: each take is one write transaction.
public struct SQLiteOneNoteBudgetStorage: OneNoteBudgetStorage {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) { self.database = database }

    public func take(
        slot: String, user: String, now: Int64, limits: OneNoteRateLimiter.Limits, expiresAt: Int64, holder: String,
        deadline: Int64
    ) async throws -> Int64? {
        try await database.pool.write { db -> Int64? in
            try db.cachedStatement(sql: "DELETE FROM onenote_inflight WHERE expires_at < ?").execute(arguments: [now])
            try db.cachedStatement(sql: "DELETE FROM onenote_requests WHERE microsoft_user_id = ? AND at < ?").execute(
                arguments: [user, now - 3_600_000])
            let inFlight =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT count(*) FROM onenote_inflight WHERE microsoft_user_id = ?"),
                    arguments: [user])
                ?? 0
            let minute = try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at"),
                arguments: [user, now - 60_000])
            let hour = try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? ORDER BY at LIMIT ?"),
                arguments: [user, max(limits.perHour, 1)])
            if let wait = Self.wait(minute: minute, hour: hour, inFlight: inFlight, limits: limits, now: now) {
                return wait
            }
            try db.cachedStatement(
                sql:
                    "INSERT INTO onenote_inflight (id, microsoft_user_id, expires_at, holder, deadline) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [slot, user, expiresAt, holder, deadline])
            try db.cachedStatement(sql: "INSERT INTO onenote_requests (microsoft_user_id, at) VALUES (?, ?)").execute(
                arguments: [user, now])
            return nil
        }
    }

    public func windowWait(user: String, now: Int64, perMinute: Int, perHour: Int) async throws -> Int64? {
        try await database.pool.read { db -> Int64? in
            let minute = try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at"),
                arguments: [user, now - 60_000])
            let hour = try Int64.fetchAll(
                db.cachedStatement(
                    sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at"),
                arguments: [user, now - 3_600_000])
            return Self.windowWait(minute: minute, hour: hour, perMinute: perMinute, perHour: perHour, now: now)
        }
    }

    public func release(slot: String) async { releaseBlocking(slot) }

    /// Synchronous on purpose: it must be written even when the request's task is being cancelled (an
    /// async database write would refuse to start then), and it is one small delete.
    private func releaseBlocking(_ slot: String) {
        _ = try? database.pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM onenote_inflight WHERE id = ?").execute(arguments: [slot])
        }
    }

    public func renew(holder: String, until: Int64) async throws {
        try await database.pool.write { db in
            try db.cachedStatement(sql: "UPDATE onenote_inflight SET expires_at = min(?, deadline) WHERE holder = ?")
                .execute(arguments: [until, holder])
        }
    }

    public func freeSlots(ofWorker workerId: String, except holder: String) async throws -> Int {
        try await database.pool.write { db in
            try db.cachedStatement(sql: "DELETE FROM onenote_inflight WHERE holder LIKE ? ESCAPE '\\' AND holder <> ?")
                .execute(arguments: [Self.likeEscaped(workerId) + ":%", holder])
            return db.changesCount
        }
    }
}
