import GRDB
import Reports

/// The per-user request record on SQLite (`user_requests`): the storage half of `UserRateLimit`. Each
/// function runs in the caller's write transaction, which is what makes count-then-record atomic
/// (SQLite has one writer).
enum UserRequestRecords {
    /// The owner's newest requests of the limit's kind inside its window (at most `perMinute`).
    static func recent(_ db: Database, _ owner: ReportOwner, _ limit: UserRateLimit, now: Int64) throws -> [Int64] {
        try Int64.fetchAll(
            db,
            sql: """
                SELECT at FROM user_requests
                WHERE installation_id = ? AND account_id = ? AND kind = ? AND at > ?
                ORDER BY at DESC LIMIT ?
                """,
            arguments: [
                owner.installationId, owner.accountId, limit.kind.rawValue, limit.windowStart(now: now),
                limit.perMinute,
            ])
    }

    /// Records one request, and forgets this owner's requests of the kind that left the window (so the
    /// record stays at most a minute's worth per user; retention removes what idle users left).
    static func record(_ db: Database, _ owner: ReportOwner, _ kind: UserRequestKind, now: Int64) throws {
        try db.execute(
            sql: "DELETE FROM user_requests WHERE installation_id = ? AND account_id = ? AND kind = ? AND at <= ?",
            arguments: [owner.installationId, owner.accountId, kind.rawValue, now - UserRateLimit.window])
        try db.execute(
            sql: "INSERT INTO user_requests (installation_id, account_id, kind, at) VALUES (?, ?, ?, ?)",
            arguments: [owner.installationId, owner.accountId, kind.rawValue, now])
    }

    /// Admits and records one request, or throws `UserRateLimitExceeded`.
    static func admit(_ db: Database, _ owner: ReportOwner, _ limit: UserRateLimit, now: Int64) throws {
        try limit.admit(recent: try recent(db, owner, limit, now: now), now: now)
        try record(db, owner, limit.kind, now: now)
    }
}
