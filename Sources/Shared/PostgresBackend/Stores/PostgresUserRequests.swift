import Logging
import PostgresNIO
import Reports

/// The per-user request record on PostgreSQL (`user_requests`): the storage half of `UserRateLimit`,
/// in the caller's transaction. Where SQLite has one writer, the owner's advisory lock makes
/// count-then-record atomic: two requests of one user take turns, other users never wait.
enum PostgresUserRequests {
    /// Takes the transaction-scoped lock of `owner`'s requests of `kind`.
    static func lock(_ connection: PostgresConnection, _ owner: ReportOwner, _ kind: UserRequestKind, _ logger: Logger)
        async throws
    {
        try await connection.checkedQuery(
            """
            SELECT pg_advisory_xact_lock(\(PostgresLocks.userRequests),
                hashtext(\(kind.rawValue) || ' ' || \(owner.installationId) || ' ' || \(owner.accountId)))
            """, logger: logger)
    }

    /// The owner's newest requests of the limit's kind inside its window (at most `perMinute`).
    static func recent(
        _ connection: PostgresConnection, _ owner: ReportOwner, _ limit: UserRateLimit, now: Int64, _ logger: Logger
    ) async throws -> [Int64] {
        try await connection.checkedQuery(
            """
            SELECT at FROM user_requests
            WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
            AND kind = \(limit.kind.rawValue) AND at > \(limit.windowStart(now: now))
            ORDER BY at DESC LIMIT \(limit.perMinute)
            """, logger: logger
        ).collect().map { try $0.decode(Int64.self) }
    }

    /// Records one request and forgets the owner's requests of the kind that left the window.
    static func record(
        _ connection: PostgresConnection, _ owner: ReportOwner, _ kind: UserRequestKind, now: Int64, _ logger: Logger
    ) async throws {
        try await connection.checkedQuery(
            """
            DELETE FROM user_requests WHERE installation_id = \(owner.installationId)
            AND account_id = \(owner.accountId) AND kind = \(kind.rawValue) AND at <= \(now - UserRateLimit.window)
            """, logger: logger)
        try await connection.checkedQuery(
            """
            INSERT INTO user_requests (installation_id, account_id, kind, at)
            VALUES (\(owner.installationId), \(owner.accountId), \(kind.rawValue), \(now))
            """, logger: logger)
    }

    /// Locks, then admits and records one request, or throws `UserRateLimitExceeded`.
    static func admit(
        _ connection: PostgresConnection, _ owner: ReportOwner, _ limit: UserRateLimit, now: Int64, _ logger: Logger
    ) async throws {
        try await lock(connection, owner, limit.kind, logger)
        try limit.admit(recent: try await recent(connection, owner, limit, now: now, logger), now: now)
        try await record(connection, owner, limit.kind, now: now, logger)
    }
}
