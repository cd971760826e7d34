import Foundation
import GRDB
import ReportsTesting
import TestSupport
import Testing

@testable import SQLiteBackend

/// One page per report with real processes: workers killed, stopped and paused at the worst moments, and still
/// exactly one page per report holding the latest data; a paused worker's stale writes are refused.
@Suite("One current page through crashes, pauses and lost leases (real processes)", .serialized)
struct ProcessOnePageTests {
    static func pageState(_ stack: ProcessStack, _ reportId: String) async throws -> (pageId: String?, pending: Int64?)
    {
        try await stack.database.pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT page_id, pending_create_at FROM reports WHERE id = ?", arguments: [reportId])
            return (row?["page_id"], row?["pending_create_at"])
        }
    }

    @Test func aCreateWhoseAnswerDiesWithItsWorkerLeavesOnePageWithTheLatestData() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let reportId = try #require(try await stack.connectedWithReport(leaseSeconds: 2))
        // OneNote creates the page but holds its answer; the worker is killed before it hears.
        try await stack.fault(
            #"{"route":"/v1.0/me/onenote/sections/*","method":"POST","holdResponseMs":6000,"count":1}"#)
        let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let victim = try #require(try await stack.holderOfRunningJob())
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                try await stack.pages().count == 1
            })
        victim.signal(SIGKILL)
        victim.process.waitUntilExit()

        let finished = try await stack.waitForRun(runId)
        #expect(finished["status"] as? String == "succeeded", "\(finished)")
        var pages = try await stack.pages()
        #expect(pages.count == 1, "the other worker found the page by its marker instead of creating a second")
        let state = try await Self.pageState(stack, reportId)
        #expect(state.pageId == pages.first?["id"] as? String && state.pending == nil)

        try await stack.editIssue("OPS-1", summary: "Changed after the crash")
        let next = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(next["status"] as? String == "succeeded", "\(next)")
        pages = try await stack.pages()
        #expect(pages.count == 1 && (pages.first?["html"] as? String)?.contains("Changed after the crash") == true)
    }

    @Test func aWorkerPausedPastItsLeaseCannotWriteStaleDataOverTheCurrentRun() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let reportId = try #require(try await stack.connectedWithReport(leaseSeconds: 2))
        let first = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(first["status"] as? String == "succeeded", "\(first)")

        // The next run reads Jira, then its worker is paused while it reads the page from OneNote.
        func contentReads() async throws -> Int {
            try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/counters").json["onenote-get-content"]
                as? Int ?? 0
        }
        let readsBefore = try await contentReads()
        try await stack.fault(
            #"{"route":"/v1.0/me/onenote/pages/*/content","method":"GET","holdResponseMs":1500,"count":1}"#)
        let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let paused = try #require(try await stack.holderOfRunningJob())
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(10)) {
                try await contentReads() > readsBefore
            })
        paused.signal(SIGSTOP)
        // Jira changes after the paused worker read it; the other worker takes the job over and writes it.
        try await stack.editIssue("OPS-1", summary: "Edited while a worker was paused")
        let finished = try await stack.waitForRun(runId)
        #expect(finished["status"] as? String == "succeeded", "\(finished)")
        #expect(
            (try await stack.pages().first?["html"] as? String)?.contains("Edited while a worker was paused") == true)

        paused.signal(SIGCONT)
        // Either its lease check stopped the handler, or (had its held request failed first) the queue
        // refused the outcome: both mean it wrote nothing.
        #expect(
            try await waitUntil(timeout: .seconds(20), pollEvery: .milliseconds(50)) {
                paused.output.contains("handler stopped: lease lost")
                    || paused.output.contains("outcome refused: lease lost")
            },
            "the resumed worker noticed it lost the lease: \(paused.output.suffix(3000))")
        let pages = try await stack.pages()
        #expect(
            pages.count == 1 && (pages.first?["html"] as? String)?.contains("Edited while a worker was paused") == true,
            "the page still shows the current run's data")
        #expect(
            (try await stack.run(runId))["status"] as? String == "succeeded",
            "the run row was not overwritten by the stale worker")
    }

    @Test func aSigtermWhoseGracePeriodEndsMidCreateLeavesOnePage() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let reportId = try #require(try await stack.connectedWithReport(leaseSeconds: 2, graceSeconds: 1))
        try await stack.fault(
            #"{"route":"/v1.0/me/onenote/sections/*","method":"POST","holdResponseMs":5000,"count":1}"#)
        let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let stopping = try #require(try await stack.holderOfRunningJob())
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                try await stack.pages().count == 1
            })
        stopping.signal(SIGTERM)
        #expect(try await stopping.waitForExit(timeout: .seconds(20)) == 0, "a clean stop after the grace period")
        let finished = try await stack.waitForRun(runId)
        #expect(finished["status"] as? String == "succeeded" && (finished["attempt"] as? Int ?? 0) <= 1, "\(finished)")
        #expect(try await stack.pages().count == 1)
        #expect(try await Self.pageState(stack, reportId).pageId == (try await stack.pages().first?["id"] as? String))
    }

    @Test func aKilledWorkersBudgetSlotIsFreedWhenItRestartsAndItsUserWritesWithinSeconds() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let reportId = try #require(try await stack.connectedWithReport(leaseSeconds: 2))
        #expect(
            try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))["status"]
                as? String == "succeeded")

        // A slow OneNote request: its worker holds one of the user's budget slots when it is killed.
        try await stack.fault(
            #"{"route":"/v1.0/me/onenote/pages/*/content","method":"GET","latencyMs":30000,"count":1}"#)
        let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let victim = try #require(try await stack.holderOfRunningJob())
        let victimId = try #require(victim.process.arguments?[2])
        func slots(of worker: String) async throws -> [String] {
            try await stack.database.pool.read {
                try String.fetchAll(
                    $0, sql: "SELECT holder FROM onenote_inflight WHERE holder LIKE ?", arguments: ["\(worker):%"])
            }
        }
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                try await !slots(of: victimId).isEmpty
            })
        let deadSlots = try await slots(of: victimId)
        victim.signal(SIGKILL)
        victim.process.waitUntilExit()
        let killedAt = ContinuousClock.now
        try stack.startWorker(victimId, leaseSeconds: 2)  // the same worker, restarted
        #expect(
            try await waitUntil(timeout: .seconds(5), pollEvery: .milliseconds(20)) {
                try await Set(slots(of: victimId)).isDisjoint(with: deadSlots)
            },
            "the restarted worker freed its predecessor's slot at once")
        let finished = try await stack.waitForRun(runId)
        #expect(finished["status"] as? String == "succeeded", "\(finished)")
        let elapsed = ContinuousClock.now - killedAt
        #expect(elapsed < .seconds(15), "the user's next write started within seconds of the kill (\(elapsed))")
    }
}
