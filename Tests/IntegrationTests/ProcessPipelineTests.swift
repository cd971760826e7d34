import Foundation
import GRDB
import ReportsTesting
import TestSupport
import Testing

@testable import SQLiteBackend

/// The product as separate processes: the sandbox, `enqueuer serve`, two `worker run`, one SQLite file.
/// Driven over HTTP as the Forge app would; every process's log is captured and searched for secrets.
@Suite("Report pipeline end to end (real processes)", .serialized)
struct ProcessPipelineTests {
    @Test func runNowThroughRealProcessesSurvivesAKilledWorkerAndLeaksNothing() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let workers = try ["w-a", "w-b"].map { try stack.startWorker($0) }
        #expect(try await stack.installAndConnect())
        let reportId = try #require(try await stack.createReport())
        let first = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(first["status"] as? String == "succeeded" && first["issueCount"] as? Int == 20, "\(first)")
        let pages = try await stack.pages()
        #expect(pages.count == 1 && (pages.first?["html"] as? String)?.contains("&lt;script&gt;") == true)

        // Kill the worker that holds the next run mid-write; the other finishes it after the lease expires.
        try await stack.fault(#"{"route":"/v1.0/me/onenote/pages/","latencyMs":2500,"count":1}"#)
        let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let victim = try #require(try await stack.holderOfRunningJob())
        victim.signal(SIGKILL)
        victim.process.waitUntilExit()
        let finished = try await stack.waitForRun(runId)
        #expect(finished["status"] as? String == "succeeded", "\(finished)")
        let after = try await stack.pages()
        #expect(
            after.count == 1 && after.first?["id"] as? String == pages.first?["id"] as? String,
            "still one page, updated in place")
        let survivor = try #require(workers.first { $0 !== victim })
        #expect(
            try await stack.database.pool.read {
                try String.fetchOne(
                    $0, sql: "SELECT worker_id FROM jobs WHERE state = 'succeeded' ORDER BY id DESC LIMIT 1")
            } == survivor.process.arguments?[2])

        await stack.stop()
        // No process logged a token, a key, a Jira summary or page content.
        let logs = stack.logs
        #expect(logs.contains("report written"), "the logs were captured")
        let contents = [
            "alert('owned')", "Tom & Jerry", "<table data-id", "sandbox-refresh-", "sandbox-access-", "sandbox-code-",
        ]
        for needle in stack.secrets + contents {
            #expect(!logs.contains(needle), "a log line holds \(needle.prefix(24))…")
        }
    }

    /// One refresh at a time across processes: two workers, eight runs of one user at once. The refresh token is
    /// redeemed once for all of them; once revoked, it is redeemed once more and never again.
    @Test func twoWorkerProcessesRefreshOneConnectionOnceAndRedeemARevokedTokenOnce() async throws {
        // Eight runs of one user at once in two processes: about the refresh, so the per-user cap on
        // running jobs (default 2) is lifted.
        let stack = try await ProcessStack(environment: ["REPORTS_QUEUE_MAX_RUNNING_PER_KEY": "8"])
        defer { stack.remove() }
        // Four slots each, and OneNote slowed, so eight runs at once cannot all fit in one process:
        // both take part, whichever wakes first.
        for id in ["w-a", "w-b"] { try stack.startWorker(id, concurrency: 4) }
        #expect(try await stack.installAndConnect())
        var reports: [String] = []
        for index in 0..<8 { reports.append(try #require(try await stack.createReport(name: "R\(index)"))) }
        try await stack.fault(#"{"route":"/v1.0/me/onenote/","latencyMs":600,"count":8}"#)
        func tokenCalls() async throws -> Int {
            try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/counters").json["token"] as? Int ?? 0
        }
        func runAll() async throws -> [[String: Any]] {
            var ids: [String] = []
            for report in reports { ids.append(try #require(try await stack.runNow(report)["id"] as? String)) }
            var finished: [[String: Any]] = []
            for id in ids { finished.append(try await stack.waitForRun(id)) }
            return finished
        }
        let before = try await tokenCalls()
        let fine = try await runAll()
        #expect(fine.allSatisfy { $0["status"] as? String == "succeeded" }, "\(fine)")
        #expect(
            try await stack.database.pool.read {
                try Int.fetchOne($0, sql: "SELECT count(DISTINCT worker_id) FROM jobs")
            } == 2, "both workers ran jobs")
        #expect(try await tokenCalls() - before == 1, "one redemption for eight runs in two processes")

        _ = try await ProcessStack.call("POST", "\(stack.sandboxBase)/sandbox/revoke")
        let revokedAt = try await tokenCalls()
        let refused = try await runAll()
        #expect(
            refused.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "reconnect_required" },
            "\(refused)")
        #expect(try await tokenCalls() - revokedAt == 1, "the revoked token was redeemed once across both processes")
    }
}
