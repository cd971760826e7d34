public import Foundation
import ReportsSupport
import Upstream

/// OneNote's per-user limits, kept for every worker process through the database (docs/microsoft-apis.md §4.2:
/// 120 requests a minute, 400 an hour, 5 at once per app and user). A request takes a slot only when
/// the user has fewer than `maxInFlight` running and the minute and hour windows have room. When a
/// window is spent it does not wait (a worker slot is never held waiting for a budget): it
/// throws `onenote_budget_exhausted` with the time the budget frees up, and the job goes back to the
/// queue until then; only a short wait for a busy in-flight slot happens in place.
///
/// A slot is leased, not owned: it lapses `slotLease` after its holder last renewed it, and
/// never outlives `requestTimeout + margin`. The worker's `OneNoteRateLimiter.Keeper` renews its process's
/// slots, so a killed worker's slots free up within seconds instead of blocking its user's writes, and
/// release is written even when the request's task was cancelled (where the backend allows it). The
/// database's part is a `OneNoteBudgetStorage`, one per backend.
public struct OneNoteRateLimiter: OneNoteBudget {
    /// The `UpstreamError` codes of a spent budget (kind `budgetSpent`): the user's minute or hour
    /// window is full (the job waits in the queue until it frees up), or every in-flight slot is taken.
    public static let exhaustedCode = "onenote_budget_exhausted"
    public static let busyCode = "onenote_budget_busy"
    public let storage: any OneNoteBudgetStorage
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
        storage: any OneNoteBudgetStorage, perMinute: Int = 120, perHour: Int = 400, maxInFlight: Int = 2,
        slotLease: Duration = .seconds(10), slotDeadline: Duration = .seconds(70), maxWait: Duration = .seconds(5),
        maxWindowWait: Duration = .zero,
        holder: String = "process:\(UUID().uuidString.lowercased())",
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.storage = storage
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
        do {
            let result = try await body()
            await storage.release(slot: slot)
            return result
        } catch {
            await storage.release(slot: slot)
            throw error
        }
    }

    func acquire(user: String) async throws -> String {
        var waited: Duration = .zero
        // Waiting for a running request to finish: poll often at first, then less.
        var inFlightPoll: Int64 = 25
        while true {
            let nowMs = Timestamp.milliseconds(now())
            let slot = UUID().uuidString
            let wait = try await storage.take(
                slot: slot, user: user, now: nowMs,
                limits: OneNoteRateLimiter.Limits(perMinute: perMinute, perHour: perHour, maxInFlight: maxInFlight),
                expiresAt: nowMs + min(slotLease.wholeMilliseconds, slotDeadline.wholeMilliseconds), holder: holder,
                deadline: nowMs + slotDeadline.wholeMilliseconds)
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
                        kind: .budgetSpent, code: Self.busyCode,
                        message: "other OneNote requests of this Microsoft user kept every slot busy", retryAfter: pause
                    )
                }
                throw UpstreamError(
                    kind: .budgetSpent, code: Self.exhaustedCode,
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
        let wait = try await storage.windowWait(user: user, now: nowMs, perMinute: perMinute, perHour: perHour)
        return wait.map { .milliseconds(max($0, 1)) }
    }

    /// Frees a slot (for a caller that took one with `acquire`).
    func release(_ slot: String) async { await storage.release(slot: slot) }

    /// Keeps this holder's slots alive for another `slotLease` (never past their deadline).
    public func renewSlots() async throws {
        let nowMs = Timestamp.milliseconds(now())
        try await storage.renew(holder: holder, until: nowMs + slotLease.wholeMilliseconds)
    }

    /// Frees, at start, the slots that earlier processes with the same worker id left behind: that
    /// worker is gone (ids are unique among running workers), so its slots are no one's.
    public func freeSlotsOfEarlierProcesses(workerId: String) async throws -> Int {
        try await storage.freeSlots(ofWorker: workerId, except: holder)
    }
}

extension OneNoteRateLimiter {
    /// The minute and hour windows and the in-flight cap, for one user.
    public struct Limits: Sendable {
        public let perMinute: Int
        public let perHour: Int
        public let maxInFlight: Int
    }
}

/// The database's part of the OneNote budget: the requests of the last hour and the slots in flight,
/// shared by every process.
public protocol OneNoteBudgetStorage: Sendable {
    /// In one atomic step: drops lapsed slots and requests older than an hour, then takes `slot` for
    /// `user` if the windows and the in-flight cap allow. Nil when taken; -1 when every in-flight slot
    /// is busy; otherwise the milliseconds until a window has room.
    func take(
        slot: String, user: String, now: Int64, limits: OneNoteRateLimiter.Limits, expiresAt: Int64, holder: String,
        deadline: Int64
    ) async throws -> Int64?
    /// Milliseconds until the windows have room for `user` (a read only), or nil.
    func windowWait(user: String, now: Int64, perMinute: Int, perHour: Int) async throws -> Int64?
    /// Frees a slot; written even while the task is being cancelled where the backend allows it.
    func release(slot: String) async
    /// Moves the expiry of `holder`'s slots to `until` (never past each one's deadline).
    func renew(holder: String, until: Int64) async throws
    /// Deletes the slots of earlier processes of `workerId` (holders `<workerId>:…` other than `except`).
    func freeSlots(ofWorker workerId: String, except holder: String) async throws -> Int
}

extension OneNoteBudgetStorage {
    /// The pure part of `take`: the wait the windows and the cap impose, from the user's requests of the
    /// last minute and hour (oldest first) and the slots in flight; nil when a slot may be taken.
    public static func wait(
        minute: [Int64], hour: [Int64], inFlight: Int, limits: OneNoteRateLimiter.Limits, now: Int64
    ) -> Int64? {
        if minute.count >= limits.perMinute { return minute[minute.count - limits.perMinute] + 60_000 - now + 1 }
        if hour.count >= limits.perHour { return hour[0] + 3_600_000 - now + 1 }
        if inFlight >= limits.maxInFlight { return -1 }
        return nil
    }

    /// Milliseconds until the windows have room, from the user's requests (oldest first) of the last
    /// minute and the last hour.
    public static func windowWait(minute: [Int64], hour: [Int64], perMinute: Int, perHour: Int, now: Int64)
        -> Int64?
    {
        if minute.count >= perMinute { return minute[minute.count - perMinute] + 60_000 - now + 1 }
        if hour.count >= perHour { return hour[hour.count - perHour] + 3_600_000 - now + 1 }
        return nil
    }

    /// `text` for a LIKE pattern with `\` as the escape character.
    public static func likeEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
