import Foundation
import GRDB
import ReportsTesting
import Synchronization
import Testing

@testable import JobQueue
@testable import JobQueueSQLite
@testable import Reports
@testable import ReportsSQLite
@testable import SQLiteStorage
@testable import Security

/// Issue #11's rules below the pipeline: fencing in the queue and the worker, deferral, and runs that
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

    // MARK: Runs end with their jobs

    static func runFixture() async throws -> (ReportFixture, Report) {
        let fixture = try ReportFixture()
        try await fixture.addInstallations()
        let report = try await fixture.reports.create(fixture.alice, ReportFixture.definition())
        return (fixture, report)
    }

    static func run(_ fixture: ReportFixture, _ id: String) async throws -> ReportRun {
        try #require(try await fixture.runs.run(fixture.alice, id: id))
    }

    @Test func anOperatorsDiscardEndsTheRunAndRetryQueuesItAgain() async throws {
        let (fixture, report) = try await Self.runFixture()
        defer { fixture.remove() }
        let run = try #require(
            try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil).run)
        #expect(try await fixture.base.queue.discard(jobId: try #require(run.jobId)) == .changed)
        let ended = try await Self.run(fixture, run.id)
        #expect(
            ended.status == .failed && ended.errorCode == "cancelled_by_operator" && ended.finishedAt != nil, "\(ended)"
        )
        #expect(try await fixture.base.queue.retry(jobId: run.jobId!) == .changed)
        let again = try await Self.run(fixture, run.id)
        #expect(again.status == .queued && again.errorCode == nil && again.finishedAt == nil, "\(again)")
    }

    @Test func aLeaseThatExpiresWithItsAttemptsUsedUpEndsTheRun() async throws {
        let fixture = try ReportFixture()
        defer { fixture.remove() }
        try await fixture.addInstallations()
        let report = try await fixture.reports.create(fixture.alice, ReportFixture.definition())
        let run = try #require(
            try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil).run)
        try await fixture.database.pool.write { try $0.execute(sql: "UPDATE jobs SET max_attempts = 1") }
        _ = try await fixture.base.queue.lease(Self.request(1, lease: .seconds(5)))
        fixture.clock.advance(by: .seconds(6))
        #expect(try await fixture.base.queue.reclaimExpiredLeases() == 1)
        let ended = try await Self.run(fixture, run.id)
        #expect(ended.status == .failed && ended.errorCode == "worker_lost", "\(ended)")
    }

    @Test func aReclaimedLeaseWithAttemptsLeftShowsItsRunWaitingAgain() async throws {
        let (fixture, report) = try await Self.runFixture()
        defer { fixture.remove() }
        let run = try #require(
            try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil).run)
        _ = try await fixture.base.queue.lease(Self.request(1, lease: .seconds(5)))
        // as the handler does
        try await fixture.database.pool.write { try $0.execute(sql: "UPDATE runs SET status = 'running'") }
        fixture.clock.advance(by: .seconds(6))
        #expect(try await fixture.base.queue.reclaimExpiredLeases() == 1)
        #expect(try await Self.run(fixture, run.id).status == .queued)
    }

    @Test func aJobNoHandlerCouldRunEndsItsRunWithTheQueuesReason() async throws {
        let (fixture, report) = try await Self.runFixture()
        defer { fixture.remove() }
        let run = try #require(
            try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil).run)
        let job = try #require(try await fixture.base.queue.lease(Self.request(1)).first)
        // What the worker records for a kind it has no handler for (and likewise a payload that does not decode).
        _ = try await fixture.base.queue.fail(
            job.lease, .permanent("unknown_job_kind", "this worker has no handler for job kind 'run-report'"))
        let ended = try await Self.run(fixture, run.id)
        #expect(
            ended.status == .failed && ended.errorCode == "unknown_job_kind"
                && ended.errorMessage == "this worker has no handler for job kind 'run-report'")
    }
}
