import Foundation
import JobQueue
import ReportsTestDoubles
import Security
import Testing

@testable import Reports

/// `RunAdmission`'s rule against the in-memory store: the same behaviours `ConformanceTests` hold the
/// SQLite and PostgreSQL stores to, in milliseconds.
@Suite("Run admission")
struct RunAdmissionTests {
    static let owner = ReportOwner(installationId: "i1", accountId: "a1")
    static let vault = TestVault.make()

    struct Fixture {
        let store = InMemoryRunAdmission()
        var now = Date(timeIntervalSince1970: 1_800_000_000)

        init(reports: [String] = ["r1"]) {
            for report in reports { store.addReport(report, owner: RunAdmissionTests.owner) }
        }

        func runNow(_ report: String = "r1", owner: ReportOwner = RunAdmissionTests.owner, perMinute: Int = 30)
            async throws -> RunRequestResult
        {
            try await RunAdmission.requestRun(
                owner, reportId: report, userToken: nil, storage: store, vault: RunAdmissionTests.vault,
                limit: UserRateLimit(.runNow, perMinute: perMinute), now: now)
        }
    }

    @Test func aSecondRunNowJoinsTheWaitingRunAndARunningReportGetsOneFollowUp() async throws {
        let fixture = Fixture()
        guard case .queued(let first) = try await fixture.runNow() else {
            Issue.record("not queued")
            return
        }
        #expect(first.jobId == 1 && first.status == .queued && first.trigger == .manual)
        #expect(try await fixture.runNow() == .joined(first))
        fixture.store.setJob(ofRun: first.id, to: .running)
        guard case .followUp(let second, running: let running) = try await fixture.runNow() else {
            Issue.record("no follow-up")
            return
        }
        #expect(running == first && second.id != first.id)
        #expect(try await fixture.runNow() == .joined(second), "the follow-up waits: later requests join it")
        #expect(fixture.store.runCount == 2)
    }

    @Test func anotherOwnersReportIsNotFound() async throws {
        let fixture = Fixture()
        let stranger = ReportOwner(installationId: "i1", accountId: "a2")
        #expect(try await fixture.runNow(owner: stranger) == .reportNotFound)
        #expect(try await fixture.runNow("missing") == .reportNotFound)
        #expect(fixture.store.runCount == 0)
    }

    @Test func theLimitCountsOnlyRequestsThatQueueARunAndJoiningStaysFree() async throws {
        var fixture = Fixture(reports: ["r1", "r2", "r3"])
        for report in ["r1", "r2"] {
            guard case .queued(let run) = try await fixture.runNow(report, perMinute: 2) else {
                Issue.record("not queued")
                return
            }
            fixture.store.setJob(ofRun: run.id, to: .done)
        }
        guard case .rateLimited(let wait) = try await fixture.runNow("r3", perMinute: 2) else {
            Issue.record("not limited")
            return
        }
        #expect(wait == .seconds(60))
        // r1's next run is refused too, but a waiting run is joined whatever the count.
        fixture.now += 61
        guard case .queued(let waiting) = try await fixture.runNow("r3", perMinute: 1) else {
            Issue.record("not queued after the window")
            return
        }
        #expect(try await fixture.runNow("r3", perMinute: 1) == .joined(waiting))
        #expect(try await fixture.runNow("r1", perMinute: 1) == .rateLimited(retryAfter: .seconds(60)))
    }

    @Test func theFairnessKeyIsTheMicrosoftUserOnceConnectedElseTheJiraOwner() async throws {
        let fixture = Fixture(reports: ["r1", "r2"])
        guard case .queued(let before) = try await fixture.runNow("r1") else {
            Issue.record("not queued")
            return
        }
        fixture.store.connect(Self.owner, microsoftUserId: "ms-user")
        guard case .queued(let after) = try await fixture.runNow("r2") else {
            Issue.record("not queued")
            return
        }
        #expect(fixture.store.job(ofRun: before.id)?.fairnessKey == "jira:i1:a1")
        #expect(fixture.store.job(ofRun: after.id)?.fairnessKey == "ms:ms-user")
        #expect(fixture.store.job(ofRun: after.id)?.priority == 10, "Run now goes before scheduled runs")
    }

    @Test func aScheduledRunIsNeverLimitedAndKeepsItsSlot() throws {
        let job = RunReportJob(runId: "run-s", reportId: "r1", installationId: "i1", ownerAccountId: "a1")
        let request = RunAdmission.Request(job: job, trigger: .schedule, slotAt: 42, limit: nil)
        let crowded = RunAdmission.State(recentRequests: Array(repeating: 1_000, count: 500))
        guard
            case .enqueue(let newJob, let run, let slot, nil, nil) = try RunAdmission.decide(
                request, crowded, now: 1_000)
        else {
            Issue.record("not enqueued")
            return
        }
        #expect(newJob.priority == 0 && run.trigger == .schedule && slot == 42)
    }
}
