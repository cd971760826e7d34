import Foundation
import GRDB
import ReportsTesting
import TestSupport
import Testing

@testable import SQLiteBackend

/// Fairness across real processes: a heavy user's backlog neither starves other users nor holds
/// worker slots while its OneNote budget is spent.
@Suite("Fair scheduling (real processes)", .serialized)
struct ProcessFairnessTests {
    @Test func aHeavyUserWaitsForItsBudgetInTheQueueWhileOthersAreServed() async throws {
        // OneNote's minute window lowered to 12 requests (sandbox and workers alike), so user A spends
        // it within a second instead of after 120 runs; everything else is as in production.
        let stack = try await ProcessStack(
            sandboxArguments: [
                "--seed", "31", "--issues", "40", "--onenote-per-minute", "12", "--extra-accounts", "4",
            ],
            environment: ["REPORTS_ONENOTE_PER_MINUTE": "12", "REPORTS_RUN_NOW_PER_MINUTE": "1000"])
        defer { stack.remove() }
        for id in ["w-a", "w-b"] { try stack.startWorker(id) }
        let a = "sandbox-user-1"
        let others = ["sandbox-user-2", "sandbox-user-3", "sandbox-user-4", "sandbox-user-5", "sandbox-user-6"]
        #expect(try await stack.installAndConnect(account: a))
        for (index, account) in others.enumerated() {
            #expect(try await stack.installAndConnect(account: account, loginHint: "user\(index)@example.com"))
        }
        var heavy: [String] = []
        for index in 0..<30 { heavy.append(try #require(try await stack.createReport(name: "A\(index)", account: a))) }
        var light: [String: String] = [:]
        for account in others {
            light[account] = try await stack.createReport(name: "light", account: account)
        }

        for report in heavy { #expect(try await stack.runNow(report, account: a)["status"] as? String == "queued") }
        // A's budget is spent (12 first runs, one OneNote call each); its other runs wait in the queue.
        let database = stack.database
        #expect(
            try await waitUntil(timeout: .seconds(60), pollEvery: .milliseconds(20)) {
                try await database.pool.read { db in
                    try Int.fetchOne(
                        db,
                        sql:
                            "SELECT count(*) FROM jobs WHERE state = 'available' AND wait_reason = 'onenote_budget_exhausted'"
                    ) ?? 0
                } >= 18 - 2
            }, "A's remaining runs were handed back to wait for the budget")

        // B–F now: each is served at once, although A has 18 runs waiting.
        var runs: [(account: String, run: String, at: ContinuousClock.Instant)] = []
        for account in others {
            let run = try #require(try await stack.runNow(light[account]!, account: account)["id"] as? String)
            runs.append((account, run, .now))
        }
        for (account, run, at) in runs {
            let finished = try await stack.waitForRun(
                run, account: account, timeout: .seconds(30), pollEvery: .milliseconds(20))
            let took = ContinuousClock.now - at
            #expect(finished["status"] as? String == "succeeded", "\(finished)")
            #expect(took < .seconds(5), "\(account)'s run took \(took) behind A's backlog")
        }

        let (aWaiting, aRunning, attempts) = try await database.pool.read { db in
            (
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM jobs WHERE state = 'available' AND fairness_key = 'ms:sandbox-ms-user-1'"
                ) ?? 0,
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM jobs WHERE state = 'running' AND fairness_key = 'ms:sandbox-ms-user-1'")
                    ?? 0,
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT max(attempt) FROM jobs WHERE fairness_key = 'ms:sandbox-ms-user-1' AND state = 'available'"
                ) ?? 0
            )
        }
        #expect(aWaiting >= 16, "A's runs still wait for the minute window: \(aWaiting)")
        #expect(aRunning == 0, "none of A's jobs holds a worker slot while its budget is spent")
        #expect(attempts == 0, "waiting for the budget used no attempt")
        let usage =
            try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/onenote-usage").json["users"]
            as? [String: [String: Any]] ?? [:]
        #expect(usage.count == 6, "six Microsoft users: \(usage.keys.sorted())")
        #expect(
            usage.values.allSatisfy { ($0["longestThrottledRun"] as? Int ?? 99) <= 1 },
            "no 429 reached a worker twice in a row: \(usage)")
        #expect(
            usage["sandbox-ms-user-1"]?["admittedLastHour"] as? Int == 12,
            "A used its minute and not one request more: \(usage)")
        let stats = try await ChildProcess.run(
            "enqueuer", ["queue", "stats", "--json"], environment: stack.env, in: stack.directory)
        let line = stats.output.split(separator: "\n").last { $0.hasPrefix("{\"available\"") } ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        #expect((json["deferred"] as? [String: Int])?["onenote_budget_exhausted"] ?? 0 >= 16, "\(stats.output)")
        await stack.stop()
    }
}
