import Foundation
import GRDB
import QueueTesting
import ReportsTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import ReportsSupport
@testable import SQLiteBackend

/// Every rule of the queue (docs/design-notes.md §4), on a real SQLite file and a real PostgreSQL database.
@Suite("Job queue")
struct QueueTests {
    let lease30 = Duration.seconds(30)

    func request(_ limit: Int, worker: String = "w1", lease: Duration = .seconds(30)) -> LeaseRequest {
        LeaseRequest(workerId: worker, limit: limit, leaseDuration: lease)
    }

    @Test(arguments: StorageBackend.allCases) func leaseHandsOutPayloadAndCountsTheAttempt(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let result = try await fixture.queue.enqueue(rawJob("test", payload: #"{"a":1}"#))
            #expect(result.created)

            let jobs = try await fixture.queue.lease(request(10))
            #expect(jobs.count == 1)
            let job = try #require(jobs.first)
            #expect(job.id == result.jobId)
            #expect(job.kind == "test")
            #expect(String(decoding: job.payload, as: UTF8.self) == #"{"a":1}"#)
            #expect(job.lease.attempt == 1)

            let row = try await fixture.row(job.id)
            #expect(row.state == .running)
            #expect(row.workerId == "w1")
            #expect(row.leaseUntil == Timestamp.milliseconds(fixture.clock.now) + 30_000)
            // A running job is not leased twice.
            #expect(try await fixture.queue.lease(request(10, worker: "w2")).isEmpty)

            #expect(try await fixture.queue.complete(job.lease) == .applied(.succeeded))
            let done = try await fixture.row(job.id)
            #expect(done.state == .succeeded)
            #expect(done.leaseUntil == nil)
            #expect(done.finishedAt != nil)
        }
    }

    /// The enqueuer's trace travels in the job's row to the worker that leases it; a malformed
    /// `traceparent` is not stored (a job's row never carries text a caller chose), nor is it a reason
    /// to refuse the job.
    @Test(arguments: StorageBackend.allCases) func aJobCarriesItsEnqueuersTraceToTheLease(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let traced = try await fixture.queue.enqueue(
                NewJob(kind: "test", payload: Data("{}".utf8), priority: 2, traceParent: parent))
            let forged = try await fixture.queue.enqueue(
                NewJob(kind: "test", payload: Data("{}".utf8), priority: 1, traceParent: "00-<script>-x-01"))
            let plain = try await fixture.queue.enqueue(rawJob("test"))
            let leased = try await fixture.queue.lease(request(3))
            #expect(Set(leased.map(\.id)) == [traced.jobId, forged.jobId, plain.jobId])
            #expect(leased.first { $0.id == traced.jobId }?.traceParent == parent)
            #expect(leased.first { $0.id == forged.jobId }?.traceParent == nil)
            #expect(leased.first { $0.id == plain.jobId }?.traceParent == nil)
        }
    }

    @Test(arguments: StorageBackend.allCases) func uniqueKeyReturnsTheWaitingOrRunningJob(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let first = try await fixture.queue.enqueue(rawJob(uniqueKey: "report-1"))
            let duplicate = try await fixture.queue.enqueue(rawJob(uniqueKey: "report-1"))
            #expect(first.created)
            #expect(duplicate == EnqueueResult(jobId: first.jobId, created: false))
            // Another key is another job.
            #expect(try await fixture.queue.enqueue(rawJob(uniqueKey: "report-2")).created)

            let leased = try #require(try await fixture.queue.lease(request(1)).first)
            #expect(leased.id == first.jobId)
            let whileRunning = try await fixture.queue.enqueue(rawJob(uniqueKey: "report-1"))
            #expect(whileRunning == EnqueueResult(jobId: first.jobId, created: false))

            // Once the first has finished, the key is free again.
            _ = try await fixture.queue.complete(leased.lease)
            let afterwards = try await fixture.queue.enqueue(rawJob(uniqueKey: "report-1"))
            #expect(afterwards.created)
            #expect(afterwards.jobId != first.jobId)

            // Within one batch, the second of two jobs with one key is folded into the first.
            let batch = try await fixture.queue.enqueue([rawJob(uniqueKey: "k"), rawJob(uniqueKey: "k")])
            #expect(batch[0].created && !batch[1].created && batch[0].jobId == batch[1].jobId)
        }
    }

    /// Within a priority and a key, jobs go in the order they were enqueued (their virtual start
    /// times), whatever their `runAt` — a job merely has to be due.
    @Test(arguments: StorageBackend.allCases) func leaseOrderIsPriorityThenEnqueueOrder(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let now = fixture.clock.now
            let low = try await fixture.queue.enqueue(rawJob(priority: 0)).jobId
            let highLater = try await fixture.queue.enqueue(rawJob(priority: 5, runAt: now.addingTimeInterval(-1)))
                .jobId
            let highEarlier = try await fixture.queue.enqueue(rawJob(priority: 5, runAt: now.addingTimeInterval(-10)))
                .jobId
            let lowSecond = try await fixture.queue.enqueue(rawJob(priority: 0)).jobId
            let negative = try await fixture.queue.enqueue(rawJob(priority: -3, runAt: now.addingTimeInterval(-100)))
                .jobId

            let batch = try await fixture.queue.lease(request(3)).map(\.id)
            #expect(batch == [highLater, highEarlier, low])
            let rest = try await fixture.queue.lease(request(10)).map(\.id)
            #expect(rest == [lowSecond, negative])
        }
    }

    @Test(arguments: StorageBackend.allCases) func aJobIsNotLeasedBeforeItsRunAt(backend: StorageBackend) async throws {
        try await backend.withQueue { fixture in
            let due = fixture.clock.now.addingTimeInterval(60)
            let id = try await fixture.queue.enqueue(rawJob(runAt: due)).jobId
            #expect(try await fixture.queue.lease(request(10)).isEmpty)
            #expect(try await fixture.queue.nextDueDate() == Timestamp.date(milliseconds: Timestamp.milliseconds(due)))
            #expect(try await fixture.queue.stats().scheduled == 1)

            fixture.clock.advance(by: .seconds(59))
            #expect(try await fixture.queue.lease(request(10)).isEmpty)
            fixture.clock.advance(by: .seconds(1))
            #expect(try await fixture.queue.lease(request(10)).map(\.id) == [id])
        }
    }

    @Test(arguments: StorageBackend.allCases) func aStaleLeaseCannotCompleteFailHeartbeatOrRelease(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            let queue = fixture.queue
            let id = try await queue.enqueue(rawJob()).jobId
            let stale = try #require(try await queue.lease(request(1, lease: .seconds(5))).first).lease

            // The first worker stalls; its lease expires and another worker takes the job.
            fixture.clock.advance(by: .seconds(6))
            #expect(try await queue.reclaimExpiredLeases() == 1)
            let current = try #require(try await queue.lease(request(1, worker: "w2")).first).lease
            #expect(current.jobId == id)
            #expect(current.token > stale.token)
            #expect(current.attempt == 2)

            #expect(try await queue.complete(stale) == .leaseLost)
            #expect(try await queue.fail(stale, .permanent("x", "y")) == .leaseLost)
            #expect(try await queue.fail(stale, .retryable("x", "y")) == .leaseLost)
            #expect(try await queue.release(stale) == .leaseLost)
            #expect(try await queue.heartbeat(stale, leaseDuration: lease30) == false)

            let row = try await fixture.row(id)
            #expect(row.state == .running)
            #expect(row.workerId == "w2")
            #expect(row.leaseToken == current.token)
            #expect(row.attempt == 2)

            // The holder of the current lease still can.
            #expect(try await queue.heartbeat(current, leaseDuration: lease30))
            #expect(try await queue.complete(current) == .applied(.succeeded))
            // And after completion, even the current token changes nothing more.
            #expect(try await queue.fail(current, .permanent("x", "y")) == .leaseLost)
        }
    }

    @Test(arguments: StorageBackend.allCases) func heartbeatKeepsALeaseAlive(backend: StorageBackend) async throws {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue(rawJob())
            let lease = try #require(try await fixture.queue.lease(request(1, lease: .seconds(10))).first).lease
            for _ in 0..<5 {
                fixture.clock.advance(by: .seconds(8))
                #expect(try await fixture.queue.heartbeat(lease, leaseDuration: .seconds(10)))
                #expect(try await fixture.queue.reclaimExpiredLeases() == 0)
            }
            fixture.clock.advance(by: .seconds(11))
            #expect(try await fixture.queue.reclaimExpiredLeases() == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases) func retryableFailureBacksOffWithinBoundsAndHonoursALongerRetryAfter(
        backend: StorageBackend
    ) async throws {
        let strategy = JobRetryStrategy.exponentialJitter(base: .seconds(2), maxBackoff: .seconds(60), jitter: 0.5)
        try await backend.withQueue(retryStrategy: strategy) { fixture in
            let queue = fixture.queue
            let id = try await queue.enqueue(rawJob()).jobId

            // Attempt n waits 2·2^(n-1) s ±50 %, capped at 60 s.
            for attempt in 1...7 {
                let lease = try #require(try await queue.lease(request(1)).first).lease
                #expect(lease.attempt == attempt)
                let failedAt = Timestamp.milliseconds(fixture.clock.now)
                #expect(try await queue.fail(lease, .retryable("upstream", "503")) == .applied(.available))
                let row = try await fixture.row(id)
                let delay = Double(row.runAt - failedAt) / 1000
                let nominal = min(2 * pow(2, Double(attempt - 1)), 60)
                #expect(
                    delay >= nominal * 0.5 - 0.001 && delay <= min(nominal * 1.5, 60) + 0.001,
                    "attempt \(attempt): \(delay) s")
                #expect(row.lastError == "upstream: 503")
                #expect(try await queue.lease(request(1)).isEmpty, "not before its backoff")
                fixture.clock.advance(by: .seconds(61))
            }

            // A Retry-After longer than the backoff wins; a shorter one does not shorten it.
            let lease = try #require(try await queue.lease(request(1)).first).lease
            let failedAt = Timestamp.milliseconds(fixture.clock.now)
            _ = try await queue.fail(lease, .retryable("throttled", "429", retryAfter: .seconds(600)))
            #expect(try await fixture.row(id).runAt - failedAt == 600_000)
            fixture.clock.advance(by: .seconds(600))
            let again = try #require(try await queue.lease(request(1)).first).lease
            let againAt = Timestamp.milliseconds(fixture.clock.now)
            _ = try await queue.fail(again, .retryable("throttled", "429", retryAfter: .milliseconds(1)))
            #expect(try await fixture.row(id).runAt - againAt >= 30_000)
        }
    }

    @Test(arguments: StorageBackend.allCases) func permanentFailureDiscardsAtOnce(backend: StorageBackend) async throws
    {
        try await backend.withQueue { fixture in
            let id = try await fixture.queue.enqueue(rawJob()).jobId
            let lease = try #require(try await fixture.queue.lease(request(1)).first).lease
            #expect(
                try await fixture.queue.fail(lease, .permanent("bad_jql", "the JQL is invalid")) == .applied(.discarded)
            )
            let row = try await fixture.row(id)
            #expect(row.state == .discarded)
            #expect(row.attempt == 1)
            #expect(row.lastError == "bad_jql: the JQL is invalid")
            #expect(row.finishedAt != nil)
        }
    }

    @Test(arguments: StorageBackend.allCases) func aJobIsDiscardedWhenItsAttemptsAreUsedUp(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue(
            retryStrategy: .exponentialJitter(base: .milliseconds(1), maxBackoff: .milliseconds(1), jitter: 0)
        ) { fixture in
            let id = try await fixture.queue.enqueue(rawJob(maxAttempts: 3)).jobId
            var states: [SettleResult] = []
            for _ in 1...3 {
                fixture.clock.advance(by: .seconds(1))
                let lease = try #require(try await fixture.queue.lease(request(1)).first).lease
                states.append(try await fixture.queue.fail(lease, .retryable("flaky", "again")))
            }
            #expect(states == [.applied(.available), .applied(.available), .applied(.discarded)])
            fixture.clock.advance(by: .seconds(1))
            #expect(try await fixture.queue.lease(request(1)).isEmpty)
            #expect(try await fixture.row(id).attempt == 3)
        }
    }

    @Test(arguments: StorageBackend.allCases) func anExpiredLeaseReturnsTheJobOrDiscardsItOnTheLastAttempt(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            let again = try await fixture.queue.enqueue(rawJob(maxAttempts: 5)).jobId
            let last = try await fixture.queue.enqueue(rawJob(maxAttempts: 1)).jobId
            _ = try await fixture.queue.lease(request(2, lease: .seconds(5)))

            fixture.clock.advance(by: .seconds(5))
            #expect(try await fixture.queue.reclaimExpiredLeases() == 0, "a lease is good up to its end")
            fixture.clock.advance(by: .milliseconds(1))
            #expect(try await fixture.queue.reclaimExpiredLeases() == 2)

            let returned = try await fixture.row(again)
            #expect(returned.state == .available)
            #expect(returned.attempt == 1)
            #expect(returned.lastError?.hasPrefix("lease_expired") == true)
            let discarded = try await fixture.row(last)
            #expect(discarded.state == .discarded)
            #expect(discarded.finishedAt != nil)
            #expect(try await fixture.queue.lease(request(5)).map(\.id) == [again])
        }
    }

    @Test(arguments: StorageBackend.allCases) func releaseGivesTheJobBackWithoutCountingTheAttempt(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            let first = try await fixture.queue.enqueue(rawJob()).jobId
            let second = try await fixture.queue.enqueue(rawJob()).jobId
            let lease = try #require(try await fixture.queue.lease(request(1)).first).lease
            #expect(lease.jobId == first)
            #expect(try await fixture.queue.release(lease) == .applied(.available))
            let row = try await fixture.row(first)
            #expect(row.state == .available)
            #expect(row.attempt == 0)
            #expect(row.workerId == nil)
            // It keeps its place in line.
            let next = try await fixture.queue.lease(request(2)).map(\.id)
            #expect(next == [first, second])
            #expect(try await fixture.row(first).attempt == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases) func settlingAndLeasingShareOneTransaction(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue((0..<6).map { _ in rawJob() })
            let firstBatch = try await fixture.queue.lease(request(3))
            let settling = firstBatch.map { SettledJob(lease: $0.lease, outcome: .succeeded) }
            let (secondBatch, results, _) = try await fixture.queue.lease(request(3), settling: settling)
            #expect(results == Array(repeating: .applied(.succeeded), count: 3))
            #expect(Set(secondBatch.map(\.id)).isDisjoint(with: firstBatch.map(\.id)))
            #expect(secondBatch.count == 3)
            let stats = try await fixture.queue.stats()
            #expect(stats.succeeded == 3 && stats.running == 3 && stats.available == 0)
        }
    }

    @Test(arguments: StorageBackend.allCases) func pruneDeletesOnlyFinishedJobsPastRetention(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let queue = fixture.queue
            let oldSucceeded = try await queue.enqueue(rawJob()).jobId
            let oldDiscarded = try await queue.enqueue(rawJob()).jobId
            for job in try await queue.lease(request(2)) {
                if job.id == oldSucceeded {
                    _ = try await queue.complete(job.lease)
                } else {
                    _ = try await queue.fail(job.lease, .permanent("x", "y"))
                }
            }
            fixture.clock.advance(by: .seconds(2 * 3600))
            let recent = try await queue.enqueue(rawJob()).jobId
            let lease = try #require(try await queue.lease(request(1)).first).lease
            _ = try await queue.complete(lease)
            let waiting = try await queue.enqueue(rawJob()).jobId
            let running = try await queue.enqueue(rawJob()).jobId
            _ = try await queue.lease(request(1))

            fixture.clock.advance(by: .seconds(3600))
            let policy = RetentionPolicy(succeeded: .seconds(2 * 3600), discarded: .seconds(3 * 3600 + 1800))
            #expect(try await queue.prune(policy) == 1)
            #expect(try await queue.job(id: oldSucceeded) == nil)
            for id in [oldDiscarded, recent, waiting, running] { #expect(try await queue.job(id: id) != nil) }

            fixture.clock.advance(by: .seconds(1801))
            #expect(try await queue.prune(policy) == 1)
            #expect(try await queue.job(id: oldDiscarded) == nil)
            for id in [recent, waiting, running] { #expect(try await queue.job(id: id) != nil) }
        }
    }

    @Test(arguments: StorageBackend.allCases) func statsCountEachStateAndTheOldestDueJob(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let queue = fixture.queue
            _ = try await queue.enqueue((0..<5).map { _ in rawJob() })
            _ = try await queue.enqueue(rawJob(runAt: fixture.clock.now.addingTimeInterval(3600)))
            let leased = try await queue.lease(request(3))
            _ = try await queue.complete(leased[0].lease)
            _ = try await queue.fail(leased[1].lease, .permanent("x", "y"))
            fixture.clock.advance(by: .seconds(42))

            let stats = try await queue.stats()
            #expect(
                stats
                    == QueueStats(
                        available: 3, scheduled: 1, running: 1, succeeded: 1, discarded: 1,
                        oldestAvailableAgeSeconds: 42,
                        keysWaiting: 1))
        }
    }

    @Test(arguments: StorageBackend.allCases) func badJobsAreRefusedAndNothingIsWritten(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture async throws in
            await #expect(throws: JobQueueError.invalidPayload) {
                try await fixture.queue.enqueue(rawJob(payload: "not json"))
            }
            await #expect(throws: JobQueueError.invalidPayload) {
                try await fixture.queue.enqueue(rawJob(payload: "{\"a\":"))
            }
            await #expect(throws: JobQueueError.invalidKind) { try await fixture.queue.enqueue(rawJob("")) }
            // All or nothing: one bad job in a batch refuses the batch.
            await #expect(throws: JobQueueError.invalidPayload) {
                try await fixture.queue.enqueue([rawJob(), rawJob(payload: "<xml/>")])
            }
            #expect(try await fixture.queue.stats() == QueueStats())
            // The schema refuses it too, whatever code path writes (the SQLite schema's CHECK constraint).
            if let sqlite = fixture.sqlite {
                await #expect(throws: DatabaseError.self) {
                    try await sqlite.database.pool.write { db in
                        try db.execute(
                            sql: "INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ('x', 'nope', 0, 0)")
                    }
                }
            }
        }
    }

    @Test(arguments: StorageBackend.allCases) func operatorsCanRetryAndDiscard(backend: StorageBackend) async throws {
        try await backend.withQueue { fixture in
            let queue = fixture.queue
            let id = try await queue.enqueue(rawJob(uniqueKey: "k")).jobId
            let lease = try #require(try await queue.lease(request(1)).first).lease
            #expect(try await queue.retry(jobId: id) == .notApplicable(.running))
            _ = try await queue.fail(lease, .permanent("x", "y"))

            #expect(try await queue.retry(jobId: 999) == .notFound)
            #expect(try await queue.retry(jobId: id) == .changed)
            let row = try await fixture.row(id)
            #expect(row.state == .available && row.attempt == 0 && row.finishedAt == nil)

            // Discarding a running job takes the lease away from its worker.
            let again = try #require(try await queue.lease(request(1)).first).lease
            #expect(try await queue.discard(jobId: id) == .changed)
            #expect(try await queue.complete(again) == .leaseLost)
            #expect(try await fixture.row(id).state == .discarded)
            #expect(try await queue.discard(jobId: id) == .notApplicable(.discarded))

            // Retrying a job whose unique key is taken again is refused, clearly.
            _ = try await queue.enqueue(rawJob(uniqueKey: "k"))
            await #expect(throws: JobQueueError.uniqueKeyTaken) { try await queue.retry(jobId: id) }
        }
    }
}
