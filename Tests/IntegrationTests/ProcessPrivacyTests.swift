import Foundation
import GRDB
import ReportsTesting
import TestSupport
import Testing

@testable import SQLiteBackend

/// Personal data reporting with real processes: a user's Atlassian account is closed (a sandbox control);
/// the worker reports the site's stored account ids to the sandbox's personal data reporting endpoint
/// and erases the closed account's report, runs, job and Microsoft connection; the other user's stay.
@Suite("Closed Atlassian accounts (real processes)", .serialized)
struct ProcessPrivacyTests {
    @Test func aClosedAccountsDataIsErasedByTheWorkers() async throws {
        // The sandbox asks for a report every second and the worker checks every second, so the test
        // does not wait for a real cycle (a week by default).
        let stack = try await ProcessStack(
            sandboxArguments: ["--seed", "31", "--issues", "40", "--privacy-cycle-period", "1"],
            environment: ["REPORTS_RETENTION_INTERVAL_SECONDS": "1"])
        defer { stack.remove() }
        try stack.startWorker("w-privacy")
        #expect(try await stack.installAndConnect(), "\(stack.logs)")
        #expect(try await stack.installAndConnect(account: "sandbox-user-2", loginHint: "second@example.com"))
        let closing = try #require(try await stack.createReport(account: "sandbox-user-1"), "\(stack.logs)")
        let staying = try #require(try await stack.createReport(name: "Web", account: "sandbox-user-2"))
        let run = try await stack.runNow(closing)
        #expect(try await stack.waitForRun(try #require(run["id"] as? String))["status"] as? String == "succeeded")

        func rows(_ sql: String) async throws -> Int {
            try await stack.database.pool.read { try Int.fetchOne($0, sql: sql) ?? -1 }
        }
        // Both accounts have been reported as active at least once before one is closed.
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(100)) {
                let seen = try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/personal-data").json
                let reported = seen["reported"] as? [String: Int] ?? [:]
                return reported["sandbox-user-1", default: 0] > 0 && reported["sandbox-user-2", default: 0] > 0
            }, "\(stack.logs)")
        #expect(try await rows("SELECT count(*) FROM reports") == 2)

        _ = try await ProcessStack.call("POST", "\(stack.sandboxBase)/sandbox/accounts/sandbox-user-1/close")
        let erased = try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(100)) {
            try await rows("SELECT count(*) FROM reports WHERE owner_account_id = 'sandbox-user-1'") == 0
        }
        #expect(erased, "\(stack.logs)")
        #expect(try await rows("SELECT count(*) FROM microsoft_connections WHERE account_id = 'sandbox-user-1'") == 0)
        #expect(try await rows("SELECT count(*) FROM runs WHERE report_id = '\(closing)'") == 0)
        #expect(try await rows("SELECT count(*) FROM jobs WHERE payload LIKE '%sandbox-user-1%'") == 0)
        #expect(try await rows("SELECT count(*) FROM reports WHERE id = '\(staying)'") == 1, "the other user's stays")
        #expect(try await rows("SELECT count(*) FROM microsoft_connections WHERE account_id = 'sandbox-user-2'") == 1)
        let me = try await ProcessStack.call(
            "GET", "\(stack.apiBase)/v1/me", headers: try await stack.headers(account: "sandbox-user-1"))
        #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "not_connected", "\(me.text)")

        await stack.stop()
        #expect(stack.logs.contains("reported stored accounts to Atlassian"))
        for secret in stack.secrets { #expect(!stack.logs.contains(secret), "a secret reached a log") }
    }
}
