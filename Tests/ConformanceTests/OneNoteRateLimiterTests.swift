import Foundation
import ReportsTesting
import Synchronization
import TestSupport
import Testing

@testable import Microsoft
@testable import Reports
@testable import ReportsSupport
@testable import Upstream

/// The OneNote budget on both backends: the limiter's rules are one piece of code, each backend keeps
/// its windows and slots (`OneNoteBudgetStorage`), and these tests hold both to the same behaviour.
@Suite("OneNote rate limiter shared through the database")
struct OneNoteRateLimiterTests {
    @Test(arguments: StorageBackend.allCases)
    func twoProcessesNeverHoldMoreSlotsThanAllowed(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            // Two connection pools on one database: what two worker processes see.
            try await fixture.withSecondProcess { other in
                let limiters = [
                    OneNoteRateLimiter(storage: fixture.budget, maxInFlight: 2),
                    OneNoteRateLimiter(storage: other.budget, maxInFlight: 2),
                ]
                let held = Held()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            try await limiters[index % 2].withSlot(user: "ms-user-1") {
                                held.enter()
                                // Hold on until two are seen at once (or 5 s): on a loaded machine a
                                // 30 ms hold can end before the other process's slot is granted.
                                let deadline = ContinuousClock.now + .seconds(5)
                                while held.maximum < 2 && ContinuousClock.now < deadline {
                                    try await Task.sleep(for: .milliseconds(5))
                                }
                                try await Task.sleep(for: .milliseconds(30))
                                held.leave()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(held.maximum == 2, "never more than 2 at once across both")
                // Another user is not held up by the first one's slots.
                _ = try await limiters[0].withSlot(user: "ms-user-2") { 1 }
                #expect(
                    try await fixture.integers("SELECT count(*) FROM onenote_inflight") == [0], "slots are released")
            }
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aSpentMinuteWindowIsReportedAtOnceWithWhenItFreesUpNotWaitedFor(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let clock = fixture.clock
            let waits = Mutex<[Duration]>([])
            // The sleep moves the test clock, so waiting would take no real time; it must not happen at all.
            var limiter = OneNoteRateLimiter(
                storage: fixture.budget, perMinute: 5, perHour: 400, maxInFlight: 5,
                now: { clock.now },
                sleep: { duration in
                    waits.withLock { $0.append(duration) }
                    clock.advance(by: duration)
                })
            #expect(try await limiter.budgetWait(user: "u") == nil)
            for _ in 0..<5 { _ = try await limiter.withSlot(user: "u") { 0 } }
            let freeIn = try #require(try await limiter.budgetWait(user: "u"))
            #expect(freeIn >= .seconds(59) && freeIn <= .seconds(61), "\(freeIn)")
            let error = await #expect(throws: UpstreamError.self) { try await limiter.withSlot(user: "u") { 0 } }
            #expect(error?.kind == .budgetSpent && error?.code == "onenote_budget_exhausted")
            let retryAfter = try #require(error?.retryAfter)
            #expect(
                retryAfter >= .seconds(59) && retryAfter <= .seconds(61),
                "the job is due again when the window frees up: \(retryAfter)")
            #expect(waits.withLock { $0 }.isEmpty, "no request slept in its worker slot")
            // Another user's budget is untouched.
            #expect(try await limiter.budgetWait(user: "other") == nil)

            // Where patience is configured (never in a worker), the window is waited for.
            limiter.maxWindowWait = .seconds(120)
            _ = try await limiter.withSlot(user: "u") { 0 }
            #expect(waits.withLock { $0 }.count == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aCrashedHoldersSlotLapsesWithinItsLeaseNotTheLongestRequest(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let clock = fixture.clock
            let dead = OneNoteRateLimiter(
                storage: fixture.budget, maxInFlight: 1, slotLease: .seconds(10), slotDeadline: .seconds(70),
                maxWait: .seconds(300), holder: "w-dead:1", now: { clock.now }, sleep: { clock.advance(by: $0) })
            let alive = OneNoteRateLimiter(
                storage: fixture.budget, maxInFlight: 1, slotLease: .seconds(10), slotDeadline: .seconds(70),
                maxWait: .seconds(300), holder: "w-alive:1", now: { clock.now }, sleep: { clock.advance(by: $0) })
            _ = try await dead.acquire(user: "u")  // never released: its worker "died", nobody renews it
            _ = try await alive.withSlot(user: "u") { 0 }
            let waited = clock.now.timeIntervalSince1970 - 1_800_000_000
            #expect(
                waited >= 10 && waited < 12,
                "waited \(waited) s: the dead slot lapsed after its 10 s lease (it was 120 s before)")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aRenewedSlotLivesOnButNeverPastItsDeadline(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let clock = fixture.clock
            let holder = OneNoteRateLimiter(
                storage: fixture.budget, maxInFlight: 1, slotLease: .seconds(10), slotDeadline: .seconds(70),
                holder: "w-1:a", now: { clock.now }, sleep: { clock.advance(by: $0) })
            _ = try await holder.acquire(user: "u")
            func inFlight() async throws -> Int {
                try await fixture.integers(
                    "SELECT count(*) FROM onenote_inflight WHERE expires_at >= \(Timestamp.milliseconds(clock.now))")[0]
            }
            for _ in 0..<6 {  // a long request: the keeper renews every 8 s
                clock.advance(by: .seconds(8))
                try await holder.renewSlots()
                #expect(try await inFlight() == 1)
            }
            clock.advance(by: .seconds(8))  // 56 s
            try await holder.renewSlots()
            clock.advance(by: .seconds(15))  // 71 s: past request timeout + margin, whatever the renewals
            #expect(try await inFlight() == 0)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aRestartedWorkerFreesItsPredecessorsSlotsAtOnce(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let old = OneNoteRateLimiter(storage: fixture.budget, holder: "w_1:old")
            let other = OneNoteRateLimiter(storage: fixture.budget, holder: "w-10:x")
            // `_` must not match any character
            let likeTrap = OneNoteRateLimiter(storage: fixture.budget, holder: "wx1:x")
            _ = try await old.acquire(user: "u")
            _ = try await other.acquire(user: "v")
            _ = try await likeTrap.acquire(user: "v")
            let new = OneNoteRateLimiter(storage: fixture.budget, holder: "w_1:new")
            #expect(try await new.freeSlotsOfEarlierProcesses(workerId: "w_1") == 1)
            #expect(try await fixture.integers("SELECT count(*) FROM onenote_inflight") == [2])
            #expect(
                try await fixture.integers("SELECT count(*) FROM onenote_inflight WHERE holder IN ('w-10:x', 'wx1:x')")
                    == [2])
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aCancelledRequestStillReleasesItsSlot(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let limiter = OneNoteRateLimiter(storage: fixture.budget, maxInFlight: 1)
            let entered = AsyncStream.makeStream(of: Void.self)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try? await limiter.withSlot(user: "u") {
                        entered.continuation.yield()
                        try await Task.sleep(for: .seconds(60))  // a slow OneNote request, cancelled at shutdown
                    }
                }
                var iterator = entered.stream.makeAsyncIterator()
                _ = await iterator.next()
                group.cancelAll()
            }
            // Released at once where the backend can write while cancelled (SQLite), else by the process's
            // keeper on its next renewal (every 3 s), which deletes it before renewing anything.
            try await limiter.renewSlots()
            #expect(
                try await fixture.integers("SELECT count(*) FROM onenote_inflight") == [0],
                "the slot was released although the task was cancelled")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func waitingOnBusySlotsSaysSoRatherThanBudgetExhausted(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            let clock = fixture.clock
            let busy = OneNoteRateLimiter(
                storage: fixture.budget, maxInFlight: 1, slotLease: .seconds(10), maxWait: .seconds(2),
                holder: "w:1", now: { clock.now }, sleep: { clock.advance(by: $0) })
            _ = try await busy.acquire(user: "u")
            let error = await #expect(throws: UpstreamError.self) { try await busy.withSlot(user: "u") { 0 } }
            #expect(error?.code == "onenote_budget_busy" && error?.kind == .budgetSpent)
        }
    }
}

/// How many slots are held right now, and the most ever held at once.
final class Held: Sendable {
    private let state = Mutex<(now: Int, max: Int)>((0, 0))
    func enter() {
        state.withLock {
            $0.now += 1
            $0.max = max($0.max, $0.now)
        }
    }
    func leave() { state.withLock { $0.now -= 1 } }
    var maximum: Int { state.withLock { $0.max } }
}
