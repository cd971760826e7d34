import Foundation
import GRDB
import Synchronization
import Testing
@testable import Shared

@Suite("OneNote rate limiter shared through the database")
struct OneNoteRateLimiterTests {
    @Test func twoProcessesNeverHoldMoreSlotsThanAllowed() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        // Two connection pools on one file: what two worker processes see.
        let other = try ReportsDatabase.open(path: fixture.database.path)
        let limiters = [OneNoteRateLimiter(database: fixture.database, maxInFlight: 2), OneNoteRateLimiter(database: other, maxInFlight: 2)]
        let held = Held()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await limiters[index % 2].withSlot(user: "ms-user-1") {
                        held.enter()
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
        let left = try await fixture.database.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM onenote_inflight") }
        #expect(left == 0, "slots are released")
    }

    @Test func theMinuteWindowMakesTheNextRequestWaitThenGiveUp() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let clock = fixture.clock
        let waits = Mutex<[Duration]>([])
        // The sleep moves the test clock, so waiting takes no real time.
        var limiter = OneNoteRateLimiter(database: fixture.database, perMinute: 5, perHour: 400, maxInFlight: 5,
                                         now: { clock.now }, sleep: { duration in waits.withLock { $0.append(duration) }; clock.advance(by: duration) })
        for _ in 0..<5 { _ = try await limiter.withSlot(user: "u") { 0 } }
        #expect(waits.withLock { $0 }.isEmpty)
        _ = try await limiter.withSlot(user: "u") { 0 }
        let waited = waits.withLock { $0 }
        #expect(waited.count == 1 && waited[0] >= .seconds(59) && waited[0] <= .seconds(61), "\(waited)")

        // With a short patience the budget error goes back to the queue, retryable.
        limiter.maxWait = .seconds(1)
        let impatient = limiter
        for _ in 0..<4 { _ = try await impatient.withSlot(user: "u") { 0 } }
        let error = await #expect(throws: UpstreamError.self) { try await impatient.withSlot(user: "u") { 0 } }
        #expect(error?.kind == .transient && error?.code == "onenote_budget_exhausted")
    }

    @Test func aCrashedHoldersSlotExpires() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let clock = fixture.clock
        let limiter = OneNoteRateLimiter(database: fixture.database, maxInFlight: 1, slotLifetime: .seconds(120), maxWait: .seconds(300),
                                         now: { clock.now }, sleep: { clock.advance(by: $0) })
        _ = try await limiter.acquire(user: "u")  // never released: its worker "died"
        _ = try await limiter.withSlot(user: "u") { 0 }
        #expect(clock.now.timeIntervalSince1970 - 1_800_000_000 >= 120, "waited for the dead slot to expire")
    }
}

/// How many slots are held right now, and the most ever held at once.
final class Held: Sendable {
    private let state = Mutex<(now: Int, max: Int)>((0, 0))
    func enter() { state.withLock { $0.now += 1; $0.max = max($0.max, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var maximum: Int { state.withLock { $0.max } }
}
