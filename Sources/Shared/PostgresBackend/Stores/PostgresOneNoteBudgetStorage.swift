import Foundation
import Logging
public import Microsoft
import PostgresNIO
import Reports
import Synchronization

/// The OneNote budget's database part on PostgreSQL: a take holds the user's transaction-scoped
/// advisory lock while it counts and inserts, so processes on every host keep one user's windows and
/// in-flight cap together.
///
/// A release cannot borrow a pooled connection while its task is being cancelled (PostgresNIO refuses
/// the lease), and the process's keeper would otherwise keep renewing that slot until its deadline.
/// Such a slot is remembered instead, and the keeper's next renewal (every 3 s) deletes it first.
public struct PostgresOneNoteBudgetStorage: OneNoteBudgetStorage {
    public let database: PostgresReportsDatabase
    private let unreleased = UnreleasedSlots()

    public init(database: PostgresReportsDatabase) { self.database = database }

    public func take(
        slot: String, user: String, now: Int64, limits: OneNoteRateLimiter.Limits, expiresAt: Int64, holder: String,
        deadline: Int64
    ) async throws -> Int64? {
        let logger = database.logger
        return try await database.withTransaction { connection -> Int64? in
            try await connection.checkedQuery(
                "SELECT pg_advisory_xact_lock(\(PostgresLocks.onenoteBudget), hashtext(\(user)))", logger: logger)
            try await connection.checkedQuery(
                "DELETE FROM onenote_inflight WHERE microsoft_user_id = \(user) AND expires_at < \(now)",
                logger: logger)
            try await connection.checkedQuery(
                "DELETE FROM onenote_requests WHERE microsoft_user_id = \(user) AND at < \(now - 3_600_000)",
                logger: logger)
            let inFlight =
                try await connection.checkedQuery(
                    "SELECT count(*) FROM onenote_inflight WHERE microsoft_user_id = \(user)", logger: logger
                ).collect().first?.decode(Int.self) ?? 0
            let minute = try await Self.times(
                connection, user: user, since: now - 60_000, limit: limits.perMinute + 1, logger)
            let hour = try await connection.checkedQuery(
                """
                SELECT at FROM onenote_requests WHERE microsoft_user_id = \(user) ORDER BY at
                LIMIT \(max(limits.perHour, 1))
                """, logger: logger
            ).collect().map { try $0.decode(Int64.self) }
            if let wait = Self.wait(minute: minute, hour: hour, inFlight: inFlight, limits: limits, now: now) {
                return wait
            }
            try await connection.checkedQuery(
                """
                INSERT INTO onenote_inflight (id, microsoft_user_id, expires_at, holder, deadline)
                VALUES (\(slot), \(user), \(expiresAt), \(holder), \(deadline))
                """, logger: logger)
            try await connection.checkedQuery(
                "INSERT INTO onenote_requests (microsoft_user_id, at) VALUES (\(user), \(now))", logger: logger)
            return nil
        }
    }

    /// The user's request times since `since`, oldest first; only the newest `limit` matter to a window.
    private static func times(
        _ connection: PostgresConnection, user: String, since: Int64, limit: Int, _ logger: Logger
    ) async throws -> [Int64] {
        try await connection.checkedQuery(
            """
            SELECT at FROM (SELECT at FROM onenote_requests WHERE microsoft_user_id = \(user) AND at >= \(since)
                ORDER BY at DESC LIMIT \(limit)) AS newest ORDER BY at
            """, logger: logger
        ).collect().map { try $0.decode(Int64.self) }
    }

    public func windowWait(user: String, now: Int64, perMinute: Int, perHour: Int) async throws -> Int64? {
        let logger = database.logger
        return try await database.withConnection { connection in
            let minute = try await Self.times(connection, user: user, since: now - 60_000, limit: perMinute, logger)
            let hour = try await Self.times(connection, user: user, since: now - 3_600_000, limit: perHour, logger)
            return Self.windowWait(minute: minute, hour: hour, perMinute: perMinute, perHour: perHour, now: now)
        }
    }

    public func release(slot: String) async {
        let logger = database.logger
        do {
            try Task.checkCancellation()
            _ = try await database.withConnection { connection in
                try await connection.checkedQuery("DELETE FROM onenote_inflight WHERE id = \(slot)", logger: logger)
            }
        } catch {
            unreleased.add(slot)
        }
    }

    public func renew(holder: String, until: Int64) async throws {
        let (logger, pending) = (database.logger, unreleased.all())
        try await database.withTransaction { connection in
            if !pending.isEmpty {
                try await connection.checkedQuery(
                    "DELETE FROM onenote_inflight WHERE id = ANY(\(pending))", logger: logger)
            }
            try await connection.checkedQuery(
                "UPDATE onenote_inflight SET expires_at = least(\(until), deadline) WHERE holder = \(holder)",
                logger: logger)
        }
        unreleased.remove(pending)
    }

    public func freeSlots(ofWorker workerId: String, except holder: String) async throws -> Int {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                DELETE FROM onenote_inflight WHERE holder LIKE \(Self.likeEscaped(workerId) + ":%") ESCAPE '\\'
                AND holder <> \(holder) RETURNING 1
                """, logger: logger
            ).collect().count
        }
    }
}

/// Slots whose release could not be written (see `PostgresOneNoteBudgetStorage`).
private final class UnreleasedSlots: Sendable {
    private let slots = Mutex<Set<String>>([])
    func add(_ slot: String) { slots.withLock { _ = $0.insert(slot) } }
    func all() -> [String] { slots.withLock { Array($0) } }
    func remove(_ done: [String]) { slots.withLock { $0.subtract(done) } }
}
