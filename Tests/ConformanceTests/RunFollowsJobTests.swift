import Foundation
import ReportsTesting
import Security
import TestSupport
import Testing

@testable import JobQueue
@testable import Reports

/// A run always tells the truth about its job, whatever moves the job: the queue applies
/// `RunFollowsJob` in the transaction of each move, so an operator's discard, an expired lease, or a
/// job no handler could run all end or re-queue the run on both backends, and no schema trigger
/// writes the run besides.
@Suite("Runs follow their jobs")
struct RunFollowsJobTests {
    static func request(_ limit: Int, lease: Duration = .seconds(30)) -> LeaseRequest {
        LeaseRequest(workerId: "w1", limit: limit, leaseDuration: lease)
    }

    /// A report of alice with one Run now queued.
    static func queuedRun(_ stores: StoresUnderTest) async throws -> ReportRun {
        try await stores.addInstallations()
        let report = try await stores.reports.create(stores.alice, ReportFixture.definition())
        return try #require(try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: nil).run)
    }

    static func reread(_ stores: StoresUnderTest, _ run: ReportRun) async throws -> ReportRun {
        try #require(try await stores.runs.run(stores.alice, id: run.id))
    }

    @Test(arguments: StorageBackend.allCases)
    func anOperatorsDiscardEndsTheRunAndRetryQueuesItAgain(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await Self.queuedRun(stores)
            #expect(try await stores.queue.discard(jobId: try #require(run.jobId)) == .changed)
            let ended = try await Self.reread(stores, run)
            #expect(
                ended.status == .failed && ended.errorCode == "cancelled_by_operator" && ended.finishedAt != nil,
                "\(ended)")
            #expect(try await stores.queue.retry(jobId: run.jobId!) == .changed)
            let again = try await Self.reread(stores, run)
            #expect(again.status == .queued && again.errorCode == nil && again.finishedAt == nil, "\(again)")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aLeaseThatExpiresWithItsAttemptsUsedUpEndsTheRun(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await Self.queuedRun(stores)
            try await stores.execute("UPDATE jobs SET max_attempts = 1")
            _ = try await stores.queue.lease(Self.request(1, lease: .seconds(5)))
            stores.clock.advance(by: .seconds(6))
            #expect(try await stores.queue.reclaimExpiredLeases() == 1)
            let ended = try await Self.reread(stores, run)
            #expect(ended.status == .failed && ended.errorCode == "worker_lost", "\(ended)")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aReclaimedLeaseWithAttemptsLeftShowsItsRunWaitingAgain(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await Self.queuedRun(stores)
            _ = try await stores.queue.lease(Self.request(1, lease: .seconds(5)))
            try await stores.execute("UPDATE runs SET status = 'running'")  // as the handler's claim does
            stores.clock.advance(by: .seconds(6))
            #expect(try await stores.queue.reclaimExpiredLeases() == 1)
            #expect(try await Self.reread(stores, run).status == .queued)
        }
    }

    /// The run's status has one writer: the schema holds no trigger on the jobs that writes runs
    /// (the migration dropped the ones that did), so the behaviours above are the queue's own code.
    @Test(arguments: StorageBackend.allCases)
    func noSchemaTriggerWritesARun(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let sql =
                switch backend {
                case .sqlite: "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%UPDATE runs%'"
                case .postgres:
                    "SELECT count(*)::int FROM pg_proc WHERE prosrc LIKE '%UPDATE runs%'"
                }
            let writers = try await stores.integers(sql)
            #expect(writers == [0], "triggers or functions writing runs")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aJobNoHandlerCouldRunEndsItsRunWithTheQueuesReason(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await Self.queuedRun(stores)
            let job = try #require(try await stores.queue.lease(Self.request(1)).first)
            // What the worker records for a kind it has no handler for (and likewise a payload that does not decode).
            _ = try await stores.queue.fail(
                job.lease, .permanent("unknown_job_kind", "this worker has no handler for job kind 'run-report'"))
            let ended = try await Self.reread(stores, run)
            #expect(
                ended.status == .failed && ended.errorCode == "unknown_job_kind"
                    && ended.errorMessage == "this worker has no handler for job kind 'run-report'")
        }
    }
}

/// How an attempt ends rides on the job's settle: the run and its job change in one transaction, so
/// a worker that lost its lease records neither.
@Suite("A run ends with its job's settle")
struct RunEndsWithSettleTests {
    static func claimedRun(_ stores: StoresUnderTest) async throws -> (ReportRun, LeasedJob) {
        let run = try await RunFollowsJobTests.queuedRun(stores)
        let job = try #require(try await stores.queue.lease(RunFollowsJobTests.request(1)).first)
        return (run, job)
    }

    @Test(arguments: StorageBackend.allCases)
    func aSuccessSettledWithTheRunsOutcomeEndsTheRunWithItsCountAndPage(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let (run, job) = try await Self.claimedRun(stores)
            let outcome = RunOutcome(issueCount: 42, pageUrl: "https://onenote.example/page-1")
            let settled = try await stores.queue.settle([
                SettledJob(lease: job.lease, outcome: .succeeded, result: outcome.jobResult)
            ])
            #expect(settled == [.applied(.succeeded)])
            let ended = try await RunFollowsJobTests.reread(stores, run)
            #expect(ended.status == .succeeded && ended.finishedAt != nil, "\(ended)")
            #expect(ended.issueCount == 42 && ended.pageUrl == "https://onenote.example/page-1")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aSuccessInTheNextLeasesTransactionEndsTheRunToo(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let (run, job) = try await Self.claimedRun(stores)
            let outcome = RunOutcome(issueCount: 7, pageUrl: nil)
            let next = try await stores.queue.lease(
                RunFollowsJobTests.request(1),
                settling: [SettledJob(lease: job.lease, outcome: .succeeded, result: outcome.jobResult)])
            #expect(next.settled == [.applied(.succeeded)])
            let ended = try await RunFollowsJobTests.reread(stores, run)
            #expect(ended.status == .succeeded && ended.issueCount == 7, "\(ended)")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aFailureWithAttemptsLeftShowsTheRunWaitingWithItsReason(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let (run, job) = try await Self.claimedRun(stores)
            _ = try await stores.queue.fail(job.lease, .retryable("graph_error", "Microsoft Graph answered 503"))
            let waiting = try await RunFollowsJobTests.reread(stores, run)
            #expect(waiting.status == .queued && waiting.finishedAt == nil, "\(waiting)")
            #expect(waiting.errorCode == "graph_error" && waiting.errorMessage == "Microsoft Graph answered 503")
        }
    }

    /// The page's snapshot rides on the run's success: the next claim of the report reads it, a newer
    /// success replaces it, and it goes with its report.
    @Test(arguments: StorageBackend.allCases)
    func theSnapshotOfASuccessIsWhatTheNextClaimReads(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let (run, job) = try await Self.claimedRun(stores)
            let snapshot = Data((0..<70_000).map { UInt8($0 % 251) })  // past PostgreSQL's base64 line length
            _ = try await stores.queue.settle([
                SettledJob(
                    lease: job.lease, outcome: .succeeded,
                    result: RunOutcome(issueCount: 3, pageUrl: nil, snapshot: snapshot).jobResult)
            ])
            let next = try #require(
                try await stores.runs.requestRun(stores.alice, reportId: run.reportId, userToken: nil).run)
            let leased = try #require(try await stores.queue.lease(RunFollowsJobTests.request(1)).first)
            #expect(leased.id == next.jobId)
            let claim = try #require(leased.claim as? RunClaim)
            #expect(claim.lastSnapshot == snapshot)
            _ = try await stores.queue.lease(
                RunFollowsJobTests.request(0),
                settling: [
                    SettledJob(
                        lease: leased.lease, outcome: .succeeded,
                        result: RunOutcome(issueCount: 1, pageUrl: nil, snapshot: Data([1, 2, 3])).jobResult)
                ])
            #expect(try await stores.integers("SELECT length(body) FROM report_snapshots") == [3])
            #expect(try await stores.reports.delete(stores.alice, id: run.reportId))
            #expect(try await stores.integers("SELECT CAST(count(*) AS INTEGER) FROM report_snapshots") == [0])
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aWorkerThatLostItsLeaseRecordsNothingOnTheRun(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let (run, job) = try await Self.claimedRun(stores)
            try await stores.execute("UPDATE jobs SET lease_token = lease_token + 1")  // as a reclaim does
            let settled = try await stores.queue.settle([
                SettledJob(
                    lease: job.lease, outcome: .succeeded,
                    result: RunOutcome(issueCount: 1, pageUrl: nil).jobResult)
            ])
            #expect(settled == [.leaseLost])
            let untouched = try await RunFollowsJobTests.reread(stores, run)
            #expect(untouched.status == .running && untouched.issueCount == nil, "\(untouched)")
        }
    }
}

/// The claim rides on the job's lease: the transaction that leases a run's job marks the run running
/// and hands the handler everything the run needs from storage: the report, its site, the site's
/// sealed system token and its page state, on both backends.
@Suite("A run's claim")
struct RunClaimTests {
    @Test(arguments: StorageBackend.allCases)
    func theLeaseStartsTheRunAndHandsOverItsClaim(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await RunFollowsJobTests.queuedRun(stores)
            let job = try #require(try await stores.queue.lease(RunFollowsJobTests.request(1)).first)
            let started = try await RunFollowsJobTests.reread(stores, run)
            #expect(started.status == .running && started.attempt == 1 && started.startedAt != nil, "\(started)")
            #expect((job.claim as? RunClaim)?.report.id == run.reportId)
            // Handed back and leased again: the second attempt, the first start kept.
            _ = try await stores.queue.settle([SettledJob(lease: job.lease, outcome: .released)])
            #expect(try await RunFollowsJobTests.reread(stores, run).status == .queued)
            stores.clock.advance(by: .seconds(5))
            let again = try #require(try await stores.queue.lease(RunFollowsJobTests.request(1)).first)
            let restarted = try await RunFollowsJobTests.reread(stores, run)
            #expect(restarted.status == .running && restarted.attempt == again.lease.attempt)
            #expect(restarted.startedAt == started.startedAt)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aJobWhoseReportIsGoneIsLeasedWithoutAClaim(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let run = try await RunFollowsJobTests.queuedRun(stores)
            #expect(try await stores.reports.delete(stores.alice, id: run.reportId))
            let job = try await stores.queue.lease(RunFollowsJobTests.request(1)).first
            #expect(job == nil || job?.claim == nil, "no run, no claim: the handler fails it as report_deleted")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func theClaimCarriesTheReportItsSiteAndItsPage(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            let site = URL(string: "https://acme.atlassian.net")!
            try await stores.installations.record(
                ReportFixture.identity(ReportFixture.installationA, siteUrl: site, principal: stores.alice.accountId),
                systemToken: Secret("system-token-1"))
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition())
            let run = try #require(
                try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: nil).run)
            let job = try #require(try await stores.queue.lease(RunFollowsJobTests.request(1)).first)
            let claim = try #require(job.claim as? RunClaim)
            #expect(job.id == run.jobId && claim.report.id == report.id)
            #expect(claim.installation?.id == ReportFixture.installationA && claim.installation?.siteUrl == site)
            #expect(claim.installation?.apiBaseUrl.absoluteString == "https://api.atlassian.com/ex/jira/cloud-1")
            #expect(claim.page.id == nil)
            // The site's system token comes sealed, to be opened only when an offline token is minted.
            let sealed = try #require(claim.systemToken)
            #expect(
                try stores.vault.open(
                    sealed.sealed, context: .atlassianSystemToken(installationId: ReportFixture.installationA))
                    == Secret("system-token-1"))
            #expect(sealed.expiresAt > stores.clock.now)
        }
    }
}
