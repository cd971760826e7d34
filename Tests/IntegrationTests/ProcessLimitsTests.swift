import Foundation
import ReportsTesting
import Testing

/// The second security review's attacks on the per-user limits, live against real processes.
@Suite("Per-user limits that hold (real processes)", .serialized)
struct ProcessLimitsTests {
    /// Creating 30 reports, running each, deleting them and repeating got 120 Run nows accepted in 5 s
    /// against a limit of 30 a minute: the count was taken over the runs of reports the user still
    /// owned. The requests are now counted in a record of their own.
    @Test func deletingAndRecreatingReportsDoesNotResetTheRunNowLimit() async throws {
        let stack = try await ProcessStack(environment: ["REPORTS_REPORT_WRITES_PER_MINUTE": "1000"])
        defer { stack.remove() }
        var accepted = 0
        var refused: [ProcessStack.HTTPResult] = []
        for _ in 0..<2 {
            var ids: [String] = []
            for index in 0..<30 { ids.append(try #require(try await stack.createReport(name: "R\(index)"))) }
            for id in ids {
                let answer = try await ProcessStack.call(
                    "POST", "\(stack.apiBase)/v1/reports/\(id)/runs", headers: try await stack.headers())
                if answer.status == 202 { accepted += 1 } else { refused.append(answer) }
            }
            for id in ids {
                let deleted = try await ProcessStack.call(
                    "DELETE", "\(stack.apiBase)/v1/reports/\(id)", headers: try await stack.headers())
                #expect(deleted.status == 204)
            }
        }
        #expect(accepted == 30, "30 Run nows a minute, whatever was deleted meanwhile")
        #expect(refused.count == 30)
        #expect(
            refused.allSatisfy {
                $0.status == 429 && ($0.json["error"] as? [String: Any])?["code"] as? String == "run_now_rate_limited"
            }, "\(refused.first?.text ?? "")")
    }

    /// Report creates, updates and deletes have their own per-user limit (60 a minute by default).
    @Test func reportWritesAreLimitedPerUserWithRetryAfter() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        var ids: [String] = []
        for index in 0..<40 { ids.append(try #require(try await stack.createReport(name: "R\(index)"))) }
        for id in ids.prefix(20) {
            let deleted = try await ProcessStack.call(
                "DELETE", "\(stack.apiBase)/v1/reports/\(id)", headers: try await stack.headers())
            #expect(deleted.status == 204)
        }
        // 60 writes made: the next create, update and delete are each refused, and nothing changes.
        let body =
            #"{"name":"x","jql":"project = OPS","columns":["key"],"sectionId":"1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"}"#
        let attempts = [
            ("POST", "/v1/reports", body), ("PUT", "/v1/reports/\(ids[25])", body),
            ("DELETE", "/v1/reports/\(ids[30])", nil),
        ]
        for (method, path, body) in attempts {
            let answer = try await ProcessStack.call(
                method, "\(stack.apiBase)\(path)", headers: try await stack.headers(), body: body)
            #expect(answer.status == 429, "\(method) \(path): \(answer.text)")
            #expect((answer.json["error"] as? [String: Any])?["code"] as? String == "report_writes_rate_limited")
            #expect(Int(answer.headers["retry-after"] ?? "") ?? 0 > 0, "\(answer.headers)")
        }
        let listed = try await ProcessStack.call(
            "GET", "\(stack.apiBase)/v1/reports", headers: try await stack.headers())
        #expect((listed.json["reports"] as? [[String: Any]])?.count == 20)
        // Another user is not held back.
        #expect(try await stack.createReport(name: "mine", account: "sandbox-user-2") != nil)
    }

    /// Five Run nows by a user who never connected Microsoft each searched a 6,000-issue result to the
    /// end before failing: the run now checks the connection (and the OneNote budget) first.
    @Test func aRunThatCannotWriteReadsNothingFromJira() async throws {
        let stack = try await ProcessStack(sandboxArguments: ["--seed", "31", "--issues", "600"])
        defer { stack.remove() }
        try stack.startWorker("w-a")
        let trigger = try await ProcessStack.call(
            "POST", "\(stack.apiBase)/forge/trigger", headers: try await stack.triggerHeaders())
        #expect(trigger.status == 200)
        let reportId = try #require(try await stack.createReport())
        func counters() async throws -> [String: Any] {
            try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/counters").json
        }
        let before = try await counters()
        for _ in 0..<5 {
            let runId = try #require(try await stack.runNow(reportId)["id"] as? String)
            let run = try await stack.waitForRun(runId)
            #expect(
                (run["error"] as? [String: Any])?["code"] as? String == "microsoft_not_connected", "\(run)")
        }
        let after = try await counters()
        for counter in ["search-jql", "graphql", "filter-search"] {
            #expect(
                (after[counter] as? Int ?? 0) == (before[counter] as? Int ?? 0),
                "\(counter): no Jira or Atlassian request for a run that cannot write")
        }
    }
}
