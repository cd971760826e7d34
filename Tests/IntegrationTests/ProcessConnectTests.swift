import Foundation
import GRDB
import ReportsTesting
import Testing

@testable import SQLiteStorage

/// The login CSRF of the security review, live (issue #14, point 1): real `sandbox` and `enqueuer serve`
/// processes over HTTP. An attacker starts a Microsoft connect for their own Jira account and sends the
/// link to a victim, who signs in to Microsoft; before, the victim's Microsoft account ended up under
/// the attacker's Jira account.
@Suite("Microsoft connect against login CSRF (real processes)", .serialized)
struct ProcessConnectTests {
    @Test func aConnectLinkThatLeavesTheStartingBrowserLinksNothing() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let attacker = "sandbox-user-2"
        guard
            try await ProcessStack.call(
                "POST", "\(stack.apiBase)/forge/trigger", headers: try await stack.triggerHeaders()
            ).status == 200
        else {
            Issue.record("the trigger failed")
            return
        }
        let connect = try await ProcessStack.call(
            "POST", "\(stack.apiBase)/v1/microsoft/connect", headers: try await stack.headers(account: attacker))
        let startUrl = try #require(connect.json["startUrl"] as? String, "\(connect.text)")

        // The attacker opens the start URL and forwards the Microsoft link it leads to.
        let attackerBrowser = ConnectBrowser.http(stack.apiBase)
        let authorize = try #require(try await attackerBrowser.start(startUrl).headers["location"])
        // The victim signs in to Microsoft (the sandbox consents as the victim) and lands on our callback.
        let victimBrowser = ConnectBrowser.http(stack.apiBase)
        let callback = try #require(try await stack.consent(authorize + "&login_hint=victim%40example.com"))
        let landed = try await victimBrowser.callback(callback)
        #expect(landed.status == 400 && landed.text.contains("not started in this browser"), "\(landed.text)")
        // Nor can the attacker finish it with the victim's code: the state is used up.
        #expect(try await attackerBrowser.callback(callback).status == 400)

        // The start URL itself, forwarded instead, works once: the attacker's own open used it up.
        #expect(try await victimBrowser.start(startUrl).status == 400)

        let me = try await ProcessStack.call(
            "GET", "\(stack.apiBase)/v1/me", headers: try await stack.headers(account: attacker))
        #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "not_connected", "\(me.text)")
        let stored = try await stack.database.pool.read {
            try Int.fetchOne(
                $0,
                sql:
                    "SELECT (SELECT count(*) FROM microsoft_connections) + (SELECT count(*) FROM oauth_pending_connections)"
            )
        }
        #expect(stored == 0, "no connection and nothing parked")

        // The honest path still works, through the confirmation page.
        #expect(try await stack.installAndConnect(account: attacker))
        await stack.stop()
    }
}
