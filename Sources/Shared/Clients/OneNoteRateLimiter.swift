public import Foundation
import GRDB

/// OneNote's per-user limits, kept for every worker process through the database (microsoft.md §4.2:
/// 120 requests a minute, 400 an hour, 5 at once per app and user). A request takes a slot only when
/// the user has fewer than `maxInFlight` running and the minute and hour windows have room; otherwise
/// it waits until they do. Slots expire on their own, so a crashed worker cannot hold one for ever.
public struct OneNoteRateLimiter: Sendable {
    public let database: ReportsDatabase
    public var perMinute: Int
    public var perHour: Int
    public var maxInFlight: Int
    public var slotLifetime: Duration
    /// Longest a request waits for a slot before the job goes back to the queue.
    public var maxWait: Duration
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(database: ReportsDatabase, perMinute: Int = 120, perHour: Int = 400, maxInFlight: Int = 2,
                slotLifetime: Duration = .seconds(120), maxWait: Duration = .seconds(120),
                now: @escaping @Sendable () -> Date = { Date() }, sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.database = database
        self.perMinute = perMinute
        self.perHour = perHour
        self.maxInFlight = maxInFlight
        self.slotLifetime = slotLifetime
        self.maxWait = maxWait
        self.now = now
        self.sleep = sleep
    }

    /// Runs `body` holding one of `user`'s slots.
    public func withSlot<T: Sendable>(user: String, _ body: () async throws -> T) async throws -> T {
        let slot = try await acquire(user: user)
        do {
            let result = try await body()
            try? await release(slot)
            return result
        } catch {
            try? await release(slot)
            throw error
        }
    }

    func acquire(user: String) async throws -> String {
        var waited: Duration = .zero
        // Waiting for a running request to finish: poll often at first, then less (a dead holder's slot
        // may take `slotLifetime` to expire).
        var inFlightPoll: Int64 = 25
        while true {
            let nowMs = Timestamp.milliseconds(now())
            let slot = UUID().uuidString
            let (perMinute, perHour, maxInFlight, lifetime) = (self.perMinute, self.perHour, self.maxInFlight, slotLifetime.wholeMilliseconds)
            let wait = try await database.pool.write { db -> Int64? in
                try db.execute(sql: "DELETE FROM onenote_inflight WHERE expires_at < ?", arguments: [nowMs])
                try db.execute(sql: "DELETE FROM onenote_requests WHERE microsoft_user_id = ? AND at < ?", arguments: [user, nowMs - 3_600_000])
                let inFlight = try Int.fetchOne(db, sql: "SELECT count(*) FROM onenote_inflight WHERE microsoft_user_id = ?", arguments: [user]) ?? 0
                let minute = try Int64.fetchAll(db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at",
                                                arguments: [user, nowMs - 60_000])
                let hour = try Int64.fetchAll(db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? ORDER BY at LIMIT ?", arguments: [user, max(perHour, 1)])
                if minute.count >= perMinute { return minute[minute.count - perMinute] + 60_000 - nowMs + 1 }
                if hour.count >= perHour { return hour[0] + 3_600_000 - nowMs + 1 }
                if inFlight >= maxInFlight { return -1 }
                try db.execute(sql: "INSERT INTO onenote_inflight (id, microsoft_user_id, expires_at) VALUES (?, ?, ?)", arguments: [slot, user, nowMs + lifetime])
                try db.execute(sql: "INSERT INTO onenote_requests (microsoft_user_id, at) VALUES (?, ?)", arguments: [user, nowMs])
                return nil
            }
            guard let wait else { return slot }
            var milliseconds = wait
            if wait < 0 {
                milliseconds = inFlightPoll
                inFlightPoll = min(inFlightPoll * 3 / 2, 1000)
            }
            let pause = Duration.milliseconds(max(milliseconds, 1))
            guard waited + pause <= maxWait else {
                throw UpstreamError(kind: .transient, code: "onenote_budget_exhausted",
                                    message: "this Microsoft user's OneNote request budget is used up for now", retryAfter: pause)
            }
            waited += pause
            try await sleep(pause)
        }
    }

    func release(_ slot: String) async throws {
        try await database.pool.write { db in try db.execute(sql: "DELETE FROM onenote_inflight WHERE id = ?", arguments: [slot]) }
    }
}
