import Foundation
import GRDB
import QueueTesting
import ReportsTesting
import Synchronization
import TestSupport
import Testing

@testable import JobQueue
@testable import Reports
@testable import SQLiteBackend
@testable import Security

/// The one-page rules below the pipeline: fencing in the queue and the worker, deferral, and runs that
/// always tell the truth about their job. Real SQLite files, a hand-moved clock where time matters.
@Suite("One current page: fencing, deferral and run truth")
struct OnePageRuleTests {
    static func request(_ limit: Int, worker: String = "w1", lease: Duration = .seconds(30)) -> LeaseRequest {
        LeaseRequest(workerId: worker, limit: limit, leaseDuration: lease)
    }

    @Test func aDeferredJobWaitsWithoutUsingAnAttempt() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let id = try await fixture.queue.enqueue(rawJob(maxAttempts: 1)).jobId
        let lease = try #require(try await fixture.queue.lease(Self.request(1)).first).lease
        #expect(
            try await fixture.queue.settle([
                SettledJob(lease: lease, outcome: .deferred(JobDeferral("test", delay: .seconds(5))))
            ]) == [.applied(.available)])
        let row = try await fixture.row(id)
        #expect(row.state == .available && row.attempt == 0 && row.workerId == nil)
        #expect(try await fixture.queue.lease(Self.request(1)).isEmpty, "not due before its delay")
        fixture.clock.advance(by: .seconds(5))
        let again = try #require(try await fixture.queue.lease(Self.request(1)).first)
        #expect(again.lease.attempt == 1, "its only attempt is still there")
    }

    @Test func heartbeatNamesTheLostLeaseNotJustTheJobAndIsHeldFollowsTheToken() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        _ = try await fixture.queue.enqueue(rawJob())
        let stale = try #require(try await fixture.queue.lease(Self.request(1, lease: .seconds(5))).first).lease
        fixture.clock.advance(by: .seconds(6))
        #expect(
            try await fixture.queue.isHeld(stale) == false, "an expired lease is not held, even before it is reclaimed")
        _ = try await fixture.queue.reclaimExpiredLeases()
        let current = try #require(try await fixture.queue.lease(Self.request(1)).first).lease
        #expect(current.jobId == stale.jobId)
        // One worker may hold both (an old handler winding down): only the stale one is reported lost.
        #expect(try await fixture.queue.heartbeat([stale, current], leaseDuration: .seconds(30)) == [stale])
        #expect(try await fixture.queue.isHeld(current))
        #expect(try await fixture.queue.isHeld(stale) == false)
    }

    @Test func workerBookkeepingIsKeyedByLeaseSoAnOldHandlerCannotDropANewLease() {
        let state = WorkerState()
        let old = JobLease(jobId: 7, token: 1, attempt: 1, maxAttempts: 5)
        let new = JobLease(jobId: 7, token: 2, attempt: 2, maxAttempts: 5)
        _ = state.started([old])
        _ = state.started([new])
        state.abandoned(old)  // the old handler stops after its lease was lost
        #expect(state.heldLeases == [new], "the re-leased job keeps its heartbeat")
        state.finished(new, .succeeded)
        #expect(state.heldLeases.isEmpty)
    }

    @Test func aStaleLeaseCannotStoreARefreshTokenOrMarkAConnection() async throws {
        let fixture = try ReportFixture()
        defer { fixture.remove() }
        try await fixture.addInstallations()
        let connections = MicrosoftConnectionStore(database: fixture.database, vault: fixture.vault)
        try await connections.save(
            fixture.alice, refreshToken: Secret("rt-1"), microsoftUserId: "ms-1", displayName: "Alice")
        _ = try await fixture.base.queue.enqueue(rawJob())
        let stale = try #require(try await fixture.base.queue.lease(Self.request(1, lease: .seconds(5))).first).lease
        fixture.clock.advance(by: .seconds(6))
        _ = try await fixture.base.queue.reclaimExpiredLeases()
        let current = try #require(try await fixture.base.queue.lease(Self.request(1)).first).lease
        await #expect(throws: LeaseLostError.self) {
            try await connections.updateRefreshToken(fixture.alice, Secret("rt-stale"), lease: stale)
        }
        await #expect(throws: LeaseLostError.self) {
            try await connections.markReconnectRequired(fixture.alice, lease: stale)
        }
        #expect(try await connections.refreshToken(fixture.alice) == Secret("rt-1"), "unchanged and still active")
        try await connections.updateRefreshToken(fixture.alice, Secret("rt-2"), lease: current)
        #expect(try await connections.refreshToken(fixture.alice) == Secret("rt-2"))
    }
}
