import Foundation
import GRDB
import ReportsTesting
import Testing

@testable import SQLiteBackend

/// The login CSRF of the security review, live: real `sandbox` and `enqueuer serve`
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

    /// A start URL forwarded to someone else leads them to a confirmation page that says plainly whose
    /// Jira account and which site the link would connect (it named the account by its opaque id), with
    /// their own Microsoft account beside it, Connect as the one primary action and Cancel storing nothing.
    @Test func aForwardedStartURLShowsWhoseJiraAccountItWouldConnect() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let attacker = "sandbox-user-2"
        #expect(
            try await ProcessStack.call(
                "POST", "\(stack.apiBase)/forge/trigger", headers: try await stack.triggerHeaders()
            ).status == 200)
        let connect = try await ProcessStack.call(
            "POST", "\(stack.apiBase)/v1/microsoft/connect", headers: try await stack.headers(account: attacker))
        let startUrl = try #require(connect.json["startUrl"] as? String, "\(connect.text)")
        // The victim opens the forwarded start URL and signs in to Microsoft as themselves.
        let victim = ConnectBrowser.http(stack.apiBase)
        let authorize = try #require(try await victim.start(startUrl).headers["location"])
        let callback = try #require(try await stack.consent(authorize + "&login_hint=victim%40example.com"))
        let page = try await victim.callback(callback)
        #expect(page.status == 200)
        let text = page.text
        for shown in [
            "Sandbox User Two", "Sandbox Jira", "(sandbox.atlassian.net)", "victim@example.com",
            #"class="primary" type="submit" name="decision" value="connect""#, #"value="cancel""#,
            "Is this not you, or did someone send you this link?", "never changes anything in Jira",
        ] {
            #expect(text.contains(shown), "the page shows \(shown)")
        }
        #expect(!text.contains(attacker), "no opaque account id on the page")
        #expect(!text.contains("Sandbox User One"))
        // Cancel stores nothing.
        let cancelled = try await victim.confirm(page: text, decision: "cancel")
        #expect(cancelled.status == 200 && cancelled.text.contains("Nothing was connected"))
        let me = try await ProcessStack.call(
            "GET", "\(stack.apiBase)/v1/me", headers: try await stack.headers(account: attacker))
        #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "not_connected", "\(me.text)")
        // The names were looked up once, with the attacker's own token, when the start URL was issued.
        let counters = try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/counters").json
        #expect(counters["jira-myself"] as? Int == 1 && counters["jira-server-info"] as? Int == 1, "\(counters)")
        await stack.stop()
    }
}
