import Foundation
import ReportsTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import Reports
@testable import ReportsSupport
@testable import Security

/// A forwarded user token lives no longer than its job (PRIVACY.md): whatever finishes the job — its
/// worker's success or last failure, a lease that expired with the attempts used up, an operator's
/// discard — the statement that finishes it also erases the token from its payload, on both backends.
/// (It stayed until the next retention pass before.)
@Suite("Forwarded user tokens end with their job")
struct ForwardedTokenTests {
    static let holding = "SELECT count(*) FROM jobs WHERE payload LIKE '%userToken%'"

    /// Four reports of alice, each with a Run now carrying a forwarded token; their job ids.
    static func fourJobs(_ stores: StoresUnderTest) async throws -> [Int64] {
        try await stores.addInstallations()
        let expiry = Int(stores.clock.now.timeIntervalSince1970) + 900
        let token = Secret("h.\(Base64URL.encode(Data(#"{"exp":\#(expiry)}"#.utf8))).forwarded")
        var jobs: [Int64] = []
        for index in 0..<4 {
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition("R\(index)"))
            let run = try #require(
                try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: token).run)
            jobs.append(try #require(run.jobId))
        }
        return jobs
    }

    @Test(arguments: StorageBackend.allCases)
    func everyWayAJobFinishesErasesItsForwardedToken(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let jobs = try await Self.fourJobs(stores)
            #expect(try await stores.integers(Self.holding) == [4])
            // An operator discards a waiting job.
            #expect(try await stores.queue.discard(jobId: jobs[3]) == .changed)
            #expect(try await stores.integers(Self.holding) == [3])

            // (Two at a time: the fairness cap of one Microsoft user.)
            let leased = try await stores.queue.lease(
                LeaseRequest(workerId: "w", limit: 2, leaseDuration: .seconds(30)))
            let leases = Dictionary(uniqueKeysWithValues: leased.map { ($0.id, $0.lease) })
            // The worker finishes one, and fails one for good.
            _ = try await stores.queue.settle([
                SettledJob(lease: try #require(leases[jobs[0]]), outcome: .succeeded),
                SettledJob(
                    lease: try #require(leases[jobs[1]]),
                    outcome: .failed(.permanent("invalid_jql", "Jira did not accept this JQL"))),
            ])
            #expect(try await stores.integers(Self.holding) == [1])
            let third = try await stores.queue.lease(
                LeaseRequest(workerId: "w", limit: 1, leaseDuration: .seconds(30)))
            #expect(third.map(\.id) == [jobs[2]])
            // The third's worker dies with its last attempt: the reaper discards it.
            try await stores.execute("UPDATE jobs SET max_attempts = 1 WHERE id = \(jobs[2])")
            stores.clock.advance(by: .seconds(31))
            #expect(try await stores.queue.reclaimExpiredLeases() == 1)
            #expect(try await stores.integers(Self.holding) == [0])
            // Every payload still decodes; only the token is gone.
            for id in jobs {
                #expect(try await stores.queue.job(id: id)?.state != .available)
            }
        }
    }

    /// A job handed back to the queue keeps its token: it still has attempts to run with it.
    @Test(arguments: StorageBackend.allCases)
    func aJobThatWillRunAgainKeepsItsToken(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let jobs = try await Self.fourJobs(stores)
            let leased = try await stores.queue.lease(
                LeaseRequest(workerId: "w", limit: 1, leaseDuration: .seconds(30)))
            let lease = try #require(leased.first?.lease)
            _ = try await stores.queue.settle([
                SettledJob(lease: lease, outcome: .failed(.retryable("jira_unavailable", "Jira answered 503")))
            ])
            #expect(try await stores.integers(Self.holding) == [4])
            #expect(jobs.contains(lease.jobId))
        }
    }
}
