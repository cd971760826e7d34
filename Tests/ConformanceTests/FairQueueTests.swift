import Foundation
import GRDB
import QueueTesting
import ReportsTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import ReportsSupport
@testable import SQLiteBackend

/// The fair queue's rules, on a real SQLite file and a real PostgreSQL database: keys served in turn, a cap per key, deferral
/// without an attempt that holds the whole key, aging against starvation.
@Suite("Fair queue")
struct FairQueueTests {
    func request(_ limit: Int, worker: String = "w1") -> LeaseRequest {
        LeaseRequest(workerId: worker, limit: limit, leaseDuration: .seconds(30))
    }

    /// Eight workers leasing `limit` jobs each at the same moment, three times over (on PostgreSQL,
    /// concurrent transactions): every job they were handed.
    func leaseAtOnce(_ queue: any JobQueue, limit: Int) async throws -> [LeasedJob] {
        var leased: [LeasedJob] = []
        for _ in 0..<3 {
            leased += try await withThrowingTaskGroup(of: [LeasedJob].self) { group in
                for worker in 0..<8 {
                    group.addTask { try await queue.lease(self.request(limit, worker: "w\(worker)")) }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        return leased
    }

    /// The fairness key of each leased job, in the order handed out.
    func keys(_ jobs: [LeasedJob], _ fixture: QueueUnderTest) async throws -> [String] {
        var keys: [String] = []
        for job in jobs { keys.append(try await fixture.row(job.id).fairnessKey) }
        return keys
    }

    @Test(arguments: StorageBackend.allCases) func aBacklogDoesNotDelayAnotherKeysJobByMoreThanOneTurn(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue(
            fairness: FairnessPolicy(maxRunningPerKey: 100, agingAfter: .seconds(300), agedPriority: 10)
        ) { fixture in
            _ = try await fixture.queue.enqueue((0..<200).map { _ in rawJob(key: "ms:a") })
            fixture.clock.advance(by: .seconds(1))
            _ = try await fixture.queue.enqueue(["ms:b", "ms:c", "ms:d"].map { rawJob(key: $0) })

            // One slot at a time, as workers free them: b, c and d are served within the first four turns,
            // not after a's 200 (first in, first out would have served them 201st to 203rd).
            var served: [String] = []
            for _ in 0..<6 {
                let job = try #require(try await fixture.queue.lease(request(1)).first)
                served += try await keys([job], fixture)
                _ = try await fixture.queue.complete(job.lease)
            }
            #expect(Set(served.prefix(4)) == ["ms:a", "ms:b", "ms:c", "ms:d"], "\(served)")
            #expect(served.dropFirst(4).allSatisfy { $0 == "ms:a" }, "then a's backlog drains: \(served)")

            // A batch shares itself among the keys waiting, then gives the rest to whoever has jobs.
            _ = try await fixture.queue.enqueue(["ms:b", "ms:c"].map { rawJob(key: $0) })
            let batch = try await keys(try await fixture.queue.lease(request(6)), fixture)
            #expect(
                batch.filter { $0 == "ms:b" }.count == 1 && batch.filter { $0 == "ms:c" }.count == 1
                    && batch.count == 6,
                "\(batch)")
        }
    }

    @Test(arguments: StorageBackend.allCases) func aKeyNeverRunsMoreThanItsCapAcrossWorkers(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue(
                (0..<10).map { _ in rawJob(key: "ms:a") } + [rawJob(key: "ms:b"), rawJob()])
            let first = try await fixture.queue.lease(request(8, worker: "w1"))
            let second = try await fixture.queue.lease(request(8, worker: "w2"))
            let running = try await keys(first + second, fixture)
            #expect(running.filter { $0 == "ms:a" }.count == 2, "\(running)")
            #expect(
                running.filter { $0 == "ms:b" }.count == 1 && running.filter(\.isEmpty).count == 1,
                "other keys and keyless jobs are served: \(running)")
            // Nothing more of a until one of its jobs ends; then exactly one more.
            #expect(try await fixture.queue.lease(request(8, worker: "w3")).isEmpty)
            let aJob = try #require(
                first.first { job in running[(first + second).firstIndex { $0.id == job.id }!] == "ms:a" })
            _ = try await fixture.queue.complete(aJob.lease)
            let next = try await fixture.queue.lease(request(8, worker: "w3"))
            #expect(try await keys(next, fixture) == ["ms:a"])
            // The worker does not spin on a capped key: its due jobs are not "the next due date".
            #expect(try await fixture.queue.nextDueDate() == nil)
        }
    }

    /// Many workers leasing at the same moment (on PostgreSQL, truly concurrent transactions): no job
    /// is handed out twice and no key ever runs more than its cap, and skipping a locked row or key
    /// loses nothing: once the racing is over, every slot is filled.
    @Test(arguments: StorageBackend.allCases) func concurrentLeasesNeitherShareAJobNorExceedACap(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            let keys = (0..<12).map { "ms:\($0)" }
            _ = try await fixture.queue.enqueue((0..<240).map { rawJob(key: keys[$0 % keys.count]) })
            let queue = fixture.queue
            var leased = try await leaseAtOnce(queue, limit: 4)
            #expect(Set(leased.map(\.id)).count == leased.count, "no job is leased twice")
            let running = try await self.keys(leased, fixture)
            let perKey = Dictionary(grouping: running, by: { $0 }).mapValues(\.count)
            #expect(perKey.values.allSatisfy { $0 <= 2 }, "\(perKey.sorted { $0.key < $1.key })")
            // Whatever the racing skipped is still there for the next lease: every key reaches its cap.
            leased += try await queue.lease(request(100, worker: "w-last"))
            #expect(try await queue.stats().running == keys.count * 2)
        }
    }

    /// One job of an exclusive key runs at a time (a report's runs share one): the others wait, unleased,
    /// keep their places, and the first of them is leased once the running one ends; other keys, and
    /// jobs of the same fairness key, are not held up.
    @Test(arguments: StorageBackend.allCases) func oneJobOfAnExclusiveKeyRunsAtATime(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue(
            fairness: FairnessPolicy(maxRunningPerKey: 100, agingAfter: .seconds(300), agedPriority: 10)
        ) { fixture in
            let first = try await fixture.queue.enqueue(
                (0..<3).map { _ in rawJob(key: "ms:a", exclusive: "report:1") }
                    + [rawJob(key: "ms:a", exclusive: "report:2"), rawJob()]
            ).map(\.jobId)
            let leased = try await fixture.queue.lease(request(10))
            #expect(leased.map(\.id).sorted() == [first[0], first[3], first[4]], "one of report:1, and the rest")
            #expect(try await fixture.queue.lease(request(10, worker: "w2")).isEmpty)
            #expect(try await fixture.queue.nextDueDate() == nil, "a held job is not the next due date to wait for")
            // Deferred, the running job lets go of the key: the next job of the report runs, in its place.
            _ = try await fixture.queue.settle([
                SettledJob(
                    lease: try #require(leased.first { $0.id == first[0] }).lease,
                    outcome: .deferred(JobDeferral("not_yet", delay: .seconds(5))))
            ])
            #expect(try await fixture.queue.lease(request(10, worker: "w2")).map(\.id) == [first[1]])
            fixture.clock.advance(by: .seconds(6))
            #expect(try await fixture.queue.lease(request(10, worker: "w3")).isEmpty, "first[1] holds the key now")
        }
    }

    /// Workers leasing at the same moment (on PostgreSQL, concurrent transactions) never run two jobs of
    /// one exclusive key, and whatever the racing passed over is there for the next lease.
    @Test(arguments: StorageBackend.allCases) func concurrentLeasesNeverRunTwoJobsOfAnExclusiveKey(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            let reports = (0..<6).map { "report:\($0)" }
            let ids = try await fixture.queue.enqueue((0..<60).map { rawJob(exclusive: reports[$0 % reports.count]) })
            let keyOf = Dictionary(
                uniqueKeysWithValues: ids.enumerated().map { ($1.jobId, reports[$0 % reports.count]) })
            let queue = fixture.queue
            var leased = try await leaseAtOnce(queue, limit: 3)
            leased += try await queue.lease(request(100, worker: "w-last"))
            #expect(Set(leased.map(\.id)).count == leased.count, "no job is leased twice")
            #expect(leased.map { keyOf[$0.id]! }.sorted() == reports, "each report once, and every report")
        }
    }

    @Test(arguments: StorageBackend.allCases) func aPageOfCappedKeysDoesNotHideADueJobBehindIt(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue(
            fairness: FairnessPolicy(maxRunningPerKey: 1, agingAfter: .seconds(300), agedPriority: 10)
        ) { fixture in
            // Seventeen keys with three jobs each; one of each runs, so every key is at its cap.
            _ = try await fixture.queue.enqueue((0..<3).flatMap { _ in (0..<17).map { rawJob(key: "ms:k\($0)") } })
            #expect(try await fixture.queue.lease(request(17)).count == 17)
            // A newcomer starts at the head's virtual time, behind the seventeen capped jobs there: a lease
            // of one reads a page of 17 (limit + 16), all capped, and must read on.
            let z = try await fixture.queue.enqueue(rawJob(key: "ms:z")).jobId
            #expect(try await fixture.queue.lease(request(1)).map(\.id) == [z])
            #expect(try await fixture.queue.lease(request(5)).isEmpty, "everyone else is at the cap")
        }
    }

    @Test(arguments: StorageBackend.allCases) func keylessJobsHaveNoCap(backend: StorageBackend) async throws {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue((0..<20).map { _ in rawJob() })
            #expect(try await fixture.queue.lease(request(20)).count == 20)
        }
    }

    @Test(arguments: StorageBackend.allCases) func priorityComesFirstButAgingBoundsTheWait(backend: StorageBackend)
        async throws
    {
        try await backend.withQueue { fixture in
            let scheduled = try await fixture.queue.enqueue(rawJob(priority: 0, key: "ms:s")).jobId
            _ = try await fixture.queue.enqueue((0..<3).map { index in rawJob(priority: 10, key: "ms:r\(index)") })
            let first = try await fixture.queue.lease(request(3))
            #expect(!first.map(\.id).contains(scheduled), "Run nows first")
            for job in first { _ = try await fixture.queue.complete(job.lease) }

            // Run nows keep coming; once the scheduled job has waited the aging time, it is promoted and
            // takes its turn among them.
            _ = try await fixture.queue.enqueue((0..<3).map { index in rawJob(priority: 10, key: "ms:q\(index)") })
            #expect(try await fixture.queue.promoteAgedJobs() == 0)
            fixture.clock.advance(by: .seconds(301))
            #expect(try await fixture.queue.promoteAgedJobs() == 1, "only the long-waiting scheduled job")
            #expect(try await fixture.row(scheduled).priority == 10)
            let next = try await fixture.queue.lease(request(3))
            #expect(next.map(\.id).contains(scheduled), "served among the Run nows, by key in turn")
        }
    }

    @Test(arguments: StorageBackend.allCases) func aBudgetDeferralCostsNoAttemptAndHoldsTheWholeKey(
        backend: StorageBackend
    ) async throws {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue((0..<4).map { _ in rawJob(key: "ms:a") } + [rawJob(key: "ms:b")])
            let leased = try await fixture.queue.lease(request(1))
            let job = try #require(leased.first)
            #expect(try await keys(leased, fixture) == ["ms:a"])
            let spent = JobDeferral("onenote_budget_exhausted", delay: .seconds(40), holdsKey: true)
            #expect(
                try await fixture.queue.settle([SettledJob(lease: job.lease, outcome: .deferred(spent))]) == [
                    .applied(.available)
                ])

            let row = try await fixture.row(job.id)
            #expect(row.attempt == 0 && row.waitReason == "onenote_budget_exhausted")
            #expect(row.runAt == Timestamp.milliseconds(fixture.clock.now) + 40_000)
            // Every other due job of a waits too; b is untouched and is all the lease hands out.
            let next = try await fixture.queue.lease(request(10))
            #expect(try await keys(next, fixture) == ["ms:b"])
            let stats = try await fixture.queue.stats()
            #expect(stats.deferred["onenote_budget_exhausted"] == 4 && stats.keysWaiting == 0, "\(stats)")
            #expect(
                try await fixture.queue.nextDueDate() == Timestamp.date(milliseconds: row.runAt),
                "the worker sleeps until the budget frees up")

            fixture.clock.advance(by: .seconds(40))
            let freed = try await fixture.queue.lease(request(10))
            #expect(freed.count == 2, "the cap, not the budget, limits a now")
            #expect(try await fixture.row(freed[0].id).waitReason == nil, "leasing clears the reason")

            // A deferral that is the job's own (a create OneNote has not confirmed yet) holds nothing else.
            _ = try await fixture.queue.enqueue([rawJob(key: "ms:c"), rawJob(key: "ms:c")])
            let c = try #require(try await fixture.queue.lease(request(1)).first)
            _ = try await fixture.queue.settle([
                SettledJob(
                    lease: c.lease, outcome: .deferred(JobDeferral("onenote_create_unconfirmed", delay: .seconds(2))))
            ])
            #expect(try await keys(try await fixture.queue.lease(request(10)), fixture) == ["ms:c"])
        }
    }

    @Test(arguments: StorageBackend.allCases) func statsCountKeysWaiting(backend: StorageBackend) async throws {
        try await backend.withQueue { fixture in
            _ = try await fixture.queue.enqueue([
                rawJob(key: "ms:a"), rawJob(key: "ms:a"), rawJob(key: "ms:b"),
                rawJob(runAt: fixture.clock.now.addingTimeInterval(60), key: "ms:later"),
            ])
            #expect(try await fixture.queue.stats().keysWaiting == 2)
        }
    }
}
