public import Foundation
import GRDB
public import Microsoft
import ReportsSupport
public import SQLiteStorage
import Upstream

/// OneNote's per-user limits, kept for every worker process through the database (docs/microsoft-apis.md §4.2:
/// 120 requests a minute, 400 an hour, 5 at once per app and user). A request takes a slot only when
/// the user has fewer than `maxInFlight` running and the minute and hour windows have room. When a
/// window is spent it does not wait (issue #13: a worker slot is never held waiting for a budget): it
/// throws `onenote_budget_exhausted` with the time the budget frees up, and the job goes back to the
/// queue until then; only a short wait for a busy in-flight slot happens in place.
///
/// A slot is leased, not owned (issue #11): it lapses `slotLease` after its holder last renewed it, and
/// never outlives `requestTimeout + margin`. The worker's `OneNoteBudgetKeeper` renews its process's
/// slots, so a killed worker's slots free up within seconds instead of blocking its user's writes, and
/// release is written even when the request's task was cancelled.
public struct OneNoteRateLimiter: OneNoteBudget {
    public let database: ReportsDatabase
    public var perMinute: Int
    public var perHour: Int
    public var maxInFlight: Int
    /// How long a slot lives without renewal by its holder.
    public var slotLease: Duration
    /// The longest a slot can live at all: the longest OneNote request (60 s) plus a margin.
    public var slotDeadline: Duration
    /// Longest a request waits for one of the user's in-flight slots before the job goes back to the queue.
    public var maxWait: Duration
    /// Longest a request waits in place for a spent minute or hour window (default: not at all).
    public var maxWindowWait: Duration
    /// Who holds the slots this limiter takes: `<worker id>:<process instance>`.
    public let holder: String
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        database: ReportsDatabase, perMinute: Int = 120, perHour: Int = 400, maxInFlight: Int = 2,
        slotLease: Duration = .seconds(10), slotDeadline: Duration = .seconds(70), maxWait: Duration = .seconds(5),
        maxWindowWait: Duration = .zero,
        holder: String = "process:\(UUID().uuidString.lowercased())",
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.database = database
        self.perMinute = perMinute
        self.perHour = perHour
        self.maxInFlight = maxInFlight
        self.slotLease = slotLease
        self.slotDeadline = slotDeadline
        self.maxWait = maxWait
        self.maxWindowWait = maxWindowWait
        self.holder = holder
        self.now = now
        self.sleep = sleep
    }

    /// Runs `body` holding one of `user`'s slots.
    public func withSlot<T: Sendable>(user: String, _ body: () async throws -> T) async throws -> T {
        let slot = try await acquire(user: user)
        defer { release(slot) }
        return try await body()
    }

    func acquire(user: String) async throws -> String {
        var waited: Duration = .zero
        // Waiting for a running request to finish: poll often at first, then less.
        var inFlightPoll: Int64 = 25
        while true {
            let nowMs = Timestamp.milliseconds(now())
            let slot = UUID().uuidString
            let (perMinute, perHour, maxInFlight, holder) = (
                self.perMinute, self.perHour, self.maxInFlight, self.holder
            )
            let (lease, deadline) = (slotLease.wholeMilliseconds, slotDeadline.wholeMilliseconds)
            let wait = try await database.pool.write { db -> Int64? in
                try db.execute(sql: "DELETE FROM onenote_inflight WHERE expires_at < ?", arguments: [nowMs])
                try db.execute(
                    sql: "DELETE FROM onenote_requests WHERE microsoft_user_id = ? AND at < ?",
                    arguments: [user, nowMs - 3_600_000])
                let inFlight =
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM onenote_inflight WHERE microsoft_user_id = ?", arguments: [user])
                    ?? 0
                let minute = try Int64.fetchAll(
                    db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at",
                    arguments: [user, nowMs - 60_000])
                let hour = try Int64.fetchAll(
                    db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? ORDER BY at LIMIT ?",
                    arguments: [user, max(perHour, 1)])
                if minute.count >= perMinute { return minute[minute.count - perMinute] + 60_000 - nowMs + 1 }
                if hour.count >= perHour { return hour[0] + 3_600_000 - nowMs + 1 }
                if inFlight >= maxInFlight { return -1 }
                try db.execute(
                    sql:
                        "INSERT INTO onenote_inflight (id, microsoft_user_id, expires_at, holder, deadline) VALUES (?, ?, ?, ?, ?)",
                    arguments: [slot, user, nowMs + min(lease, deadline), holder, nowMs + deadline])
                try db.execute(
                    sql: "INSERT INTO onenote_requests (microsoft_user_id, at) VALUES (?, ?)", arguments: [user, nowMs])
                return nil
            }
            guard let wait else { return slot }
            var milliseconds = wait
            if wait < 0 {
                milliseconds = inFlightPoll
                inFlightPoll = min(inFlightPoll * 3 / 2, 1000)
            }
            let pause = Duration.milliseconds(max(milliseconds, 1))
            guard waited + pause <= (wait < 0 ? maxWait : maxWindowWait) else {
                // Say which limit held the request back: the user's rate windows, or requests in flight.
                if wait < 0 {
                    throw UpstreamError(
                        kind: .transient, code: "onenote_budget_busy",
                        message: "other OneNote requests of this Microsoft user kept every slot busy", retryAfter: pause
                    )
                }
                throw UpstreamError(
                    kind: .transient, code: "onenote_budget_exhausted",
                    message: "this Microsoft user's OneNote request budget is used up for now", retryAfter: pause)
            }
            waited += pause
            try await sleep(pause)
        }
    }

    /// How long until `user` may send a request as far as the minute and hour windows go (nil: now).
    /// A read only: the run-report job asks before it does any work, and goes back to the queue when
    /// the budget is spent instead of reading Jira for a page it cannot write.
    public func budgetWait(user: String) async throws -> Duration? {
        let nowMs = Timestamp.milliseconds(now())
        let (perMinute, perHour) = (self.perMinute, self.perHour)
        let wait = try await database.pool.read { db -> Int64? in
            let minute = try Int64.fetchAll(
                db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at",
                arguments: [user, nowMs - 60_000])
            if minute.count >= perMinute { return minute[minute.count - perMinute] + 60_000 - nowMs + 1 }
            let hour = try Int64.fetchAll(
                db, sql: "SELECT at FROM onenote_requests WHERE microsoft_user_id = ? AND at >= ? ORDER BY at",
                arguments: [user, nowMs - 3_600_000])
            if hour.count >= perHour { return hour[hour.count - perHour] + 3_600_000 - nowMs + 1 }
            return nil
        }
        return wait.map { .milliseconds(max($0, 1)) }
    }

    /// Frees a slot. Synchronous on purpose: it must be written even when the request's task is being
    /// cancelled (an async database write would refuse to start then), and it is one small delete.
    func release(_ slot: String) {
        _ = try? database.pool.write { db in
            try db.execute(sql: "DELETE FROM onenote_inflight WHERE id = ?", arguments: [slot])
        }
    }

    /// Keeps this holder's slots alive for another `slotLease` (never past their deadline).
    public func renewSlots() async throws {
        let nowMs = Timestamp.milliseconds(now())
        let (holder, lease) = (self.holder, slotLease.wholeMilliseconds)
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE onenote_inflight SET expires_at = min(?, deadline) WHERE holder = ?",
                arguments: [nowMs + lease, holder])
        }
    }

    /// Frees, at start, the slots that earlier processes with the same worker id left behind: that
    /// worker is gone (ids are unique among running workers), so its slots are no one's.
    public func freeSlotsOfEarlierProcesses(workerId: String) async throws -> Int {
        let holder = self.holder
        return try await database.pool.write { db in
            try db.execute(
                sql: "DELETE FROM onenote_inflight WHERE holder LIKE ? ESCAPE '\\' AND holder <> ?",
                arguments: [Self.likeEscaped(workerId) + ":%", holder])
            return db.changesCount
        }
    }

    static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
