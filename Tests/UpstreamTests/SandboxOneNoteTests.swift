import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import Transport

@testable import Microsoft
@testable import ReportsSupport
@testable import Sandbox
@testable import Security
@testable import Upstream

/// OneNote pages, throttling, faults and inspection of the sandbox, over real HTTP with raw requests.
@Suite("Sandbox contract (phase 2: OneNote pages, throttling, faults)")
struct SandboxOneNoteTests {
    static let section = "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"

    /// `consistencyDelay`: zero for the contract tests of other behaviour; the consistency tests set it.
    static func withSandbox(
        sectionPageCap: Int = 500,
        throttle: OneNoteThrottle = OneNoteThrottle(perMinute: 10_000, perHour: 10_000, concurrent: 50),
        consistencyDelay: Duration = .zero,
        _ body: @Sendable (any TestClientProtocol, HTTPFields) async throws -> Void
    ) async throws {
        let state = try await SandboxState(
            seed: 3, issues: 20, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
        let app = Application(
            router: SandboxApp.router(
                state, sectionPageCap: sectionPageCap, throttle: throttle, consistencyDelay: consistencyDelay),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        try await app.test(.live) { client in
            // An access token through the real code flow.
            let verifier = "onenote-test-verifier-0123456789-abcdefghijklmnopq"
            let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
            let redirect = "http://127.0.0.1:1/cb"
            let location = try await client.execute(
                uri:
                    "/common/oauth2/v2.0/authorize?client_id=sandbox-client&response_type=code&redirect_uri=\(FormEncoding.escape(redirect))&state=s&code_challenge=\(challenge)&code_challenge_method=S256",
                method: .get
            ).headers[.location]
            let code = try #require(
                location.flatMap { URLComponents(string: $0)?.queryItems?.first { $0.name == "code" }?.value })
            let tokens = try await client.execute(
                uri: "/common/oauth2/v2.0/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: FormEncoding.encode([
                        ("client_id", "sandbox-client"), ("client_secret", "sandbox-secret"),
                        ("grant_type", "authorization_code"),
                        ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier),
                    ])))
            let access = try #require(tokens.json["access_token"] as? String)
            try await body(client, [.authorization: "Bearer \(access)"])
        }
    }

    static func page(_ title: String, _ body: String) -> String {
        "<!DOCTYPE html><html><head><title>\(title)</title><meta name=\"created\" content=\"2026-11-29T09:00:00+01:00\" /></head><body>\(body)</body></html>"
    }

    static func create(_ client: any TestClientProtocol, _ auth: HTTPFields, _ html: String, section: String = section)
        async throws -> TestResponse
    {
        try await client.execute(
            uri: "/v1.0/me/onenote/sections/\(section)/pages", method: .post,
            headers: auth.merging([.contentType: "text/html; charset=utf-8"]), body: ByteBuffer(string: html))
    }

    static func content(_ client: any TestClientProtocol, _ auth: HTTPFields, _ id: String, ids: Bool = true)
        async throws -> String
    {
        try await client.execute(
            uri: "/v1.0/me/onenote/pages/\(id)/content\(ids ? "?includeIDs=true" : "")", method: .get, headers: auth
        ).text
    }

    static func tableId(_ html: String) -> String? {
        html.range(of: #"table:\{[0-9a-f-]+\}\{[0-9]+\}"#, options: .regularExpression).map { String(html[$0]) }
    }

    static func patch(
        _ client: any TestClientProtocol, _ auth: HTTPFields, _ id: String, _ commands: [[String: String]]
    ) async throws -> TestResponse {
        try await client.execute(
            uri: "/v1.0/me/onenote/pages/\(id)/content", method: .patch,
            headers: auth.merging([.contentType: "application/json"]),
            body: ByteBuffer(string: JSONText.serialize(commands)))
    }

    @Test func pagesAreCreatedReadUpdatedByGeneratedIdAndDeleted() async throws {
        try await Self.withSandbox { client, auth in
            let table =
                #"<table data-id="jira-report" border="1"><tr><td><b>Key</b></td></tr><tr><td>OPS-1</td></tr></table>"#
            let created = try await Self.create(
                client, auth, Self.page("Report &amp; more", "<p data-id=\"header\">Run 1</p>\(table)"))
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.headers[.location]?.hasSuffix(id) == true)
            #expect(created.json["title"] as? String == "Report & more")
            let metadata = try await client.execute(uri: "/v1.0/me/onenote/pages/\(id)", method: .get, headers: auth)
            #expect(
                metadata.json["contentUrl"] is String
                    && (metadata.json["parentSection"] as? [String: Any])?["id"] as? String == Self.section)

            let plain = try await Self.content(client, auth, id, ids: false)
            #expect(
                plain.contains(#"data-id="jira-report""#) && Self.tableId(plain) == nil, "ids only with includeIDs=true"
            )
            let withIds = try await Self.content(client, auth, id)
            let firstTableId = try #require(Self.tableId(withIds))

            // A table is replaced only by its generated id; by data-id it is refused with 20141.
            let byDataId = try await Self.patch(
                client, auth, id, [["target": "#jira-report", "action": "replace", "content": table]])
            #expect(
                byDataId.status == .badRequest
                    && (byDataId.json["error"] as? [String: Any])?["code"] as? String == "20141")
            let newTable =
                #"<table data-id="jira-report" border="1"><tr><td><b>Key</b></td></tr><tr><td>OPS-2</td></tr></table>"#
            let replaced = try await Self.patch(
                client, auth, id, [["target": firstTableId, "action": "replace", "content": newTable]])
            #expect(replaced.status == .noContent && replaced.text.isEmpty)
            let after = try await Self.content(client, auth, id)
            #expect(after.contains("OPS-2") && !after.contains("OPS-1"))
            let secondTableId = try #require(Self.tableId(after))
            #expect(secondTableId != firstTableId, "generated ids change after every update")
            let stale = try await Self.patch(
                client, auth, id, [["target": firstTableId, "action": "replace", "content": newTable]])
            #expect(
                stale.status == .badRequest && (stale.json["error"] as? [String: Any])?["code"] as? String == "20120")

            // body accepts append; the command array is all-or-nothing.
            let atomic = try await Self.patch(
                client, auth, id,
                [
                    ["target": "body", "action": "append", "content": "<p>appended</p>"],
                    [
                        "target": "table:{00000000-0000-0000-0000-000000000000}{9}", "action": "replace",
                        "content": newTable,
                    ],
                ])
            #expect(atomic.status == .badRequest)
            #expect(
                !(try await Self.content(client, auth, id)).contains("appended"), "nothing of a failed array is applied"
            )
            #expect(
                try await Self.patch(
                    client, auth, id, [["target": "body", "action": "append", "content": "<p>appended</p>"]]
                ).status == .noContent)
            #expect((try await Self.content(client, auth, id, ids: false)).contains("<p>appended</p>"))
            for (commands, code) in [
                ([[String: String]](), "20125"),
                ([["target": "body", "action": "explode", "content": "<p/>"]], "20122"),
                ([["target": "jira-report", "action": "replace", "content": table]], "20134"),
                ([["target": "body", "action": "replace", "content": "<p/>"]], "20141"),
            ] {
                let refused = try await Self.patch(client, auth, id, commands)
                #expect(
                    refused.status == .badRequest
                        && (refused.json["error"] as? [String: Any])?["code"] as? String == code, "\(code)")
            }
            // The title is replaced verbatim.
            #expect(
                try await Self.patch(
                    client, auth, id, [["target": "title", "action": "replace", "content": "A & B <c>"]]
                ).status == .noContent)
            let pages = try await client.execute(uri: "/sandbox/pages", method: .get)
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(pages.text.utf8)) as? [[String: Any]])
            #expect(
                listed.first?["title"] as? String == "A & B <c>"
                    && (listed.first?["html"] as? String)?.contains("OPS-2") == true)
            #expect(Set(listed.first?.keys.map { $0 } ?? []) == ["id", "title", "sectionId", "html"])

            #expect(
                try await client.execute(uri: "/v1.0/me/onenote/pages/\(id)", method: .delete, headers: auth).status
                    == .noContent)
            let gone = try await client.execute(
                uri: "/v1.0/me/onenote/pages/\(id)/content", method: .get, headers: auth)
            #expect(gone.status == .notFound && (gone.json["error"] as? [String: Any])?["code"] as? String == "20102")
        }
    }

    @Test func createRefusesBadXHTMLDropsARawTitleAndEnforcesSizeAndTheSectionCap() async throws {
        try await Self.withSandbox(sectionPageCap: 2) { client, auth in
            #expect(try await Self.create(client, auth, "<html><body><p>unclosed</body></html>").status == .badRequest)
            let rawTitle = try await Self.create(client, auth, Self.page("Tom & Jerry <3", "<p>kept</p>"))
            #expect(
                rawTitle.status == .created && rawTitle.json["title"] as? String == "",
                "a raw & or < in the title drops the title only")
            let big = String(repeating: "x", count: 4 * 1024 * 1024 + 10)
            #expect(try await Self.create(client, auth, Self.page("Big", "<p>\(big)</p>")).status == .contentTooLarge)
            #expect(try await Self.create(client, auth, Self.page("Second", "<p/>")).status == .created)
            let full = try await Self.create(client, auth, Self.page("Third", "<p/>"))
            #expect(full.status.code == 507)
            #expect(
                try await Self.create(client, auth, Self.page("Elsewhere", "<p/>"), section: "1-nope!1").status
                    == .notFound)
            #expect(
                try await client.execute(
                    uri: "/v1.0/me/onenote/sections/\(Self.section)/pages", method: .post,
                    body: ByteBuffer(string: "<p/>")
                ).status == .unauthorized)
        }
    }

    @Test func oneNoteThrottlesPerUserWithCode20166AndNoRetryAfter() async throws {
        try await Self.withSandbox(throttle: OneNoteThrottle(perMinute: 5, perHour: 400, concurrent: 5)) {
            client, auth in
            var statuses: [Int] = []
            var lastBody: [String: Any] = [:]
            var lastHeaders: HTTPFields = [:]
            for _ in 0..<7 {
                let response = try await client.execute(uri: "/v1.0/me/onenote/pages/none", method: .get, headers: auth)
                statuses.append(Int(response.status.code))
                lastBody = response.json
                lastHeaders = response.headers
            }
            #expect(statuses == [404, 404, 404, 404, 404, 429, 429])
            #expect((lastBody["error"] as? [String: Any])?["code"] as? String == "20166")
            #expect(lastHeaders[.retryAfter] == nil, "OneNote sends no Retry-After")
        }
    }

    @Test func sectionsAndNotebooksDrawFromTheSameOneNoteLimits() async throws {
        try await Self.withSandbox(throttle: OneNoteThrottle(perMinute: 3, perHour: 400, concurrent: 5)) {
            client, auth in
            var statuses: [Int] = []
            for uri in [
                "/v1.0/me/onenote/sections", "/v1.0/me/onenote/notebooks", "/v1.0/me/onenote/pages/none",
                "/v1.0/me/onenote/sections", "/v1.0/me/onenote/notebooks",
            ] {
                statuses.append(Int(try await client.execute(uri: uri, method: .get, headers: auth).status.code))
            }
            #expect(
                statuses == [200, 200, 404, 429, 429],
                "one budget across every OneNote resource (docs/microsoft-tokens.md)")
        }
    }

    @Test func faultsAnswerAsTheServiceWouldAndRunOut() async throws {
        let state = try await SandboxState(
            seed: 3, issues: 20, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
        let app = Application(
            router: SandboxApp.router(state), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: silentLogger)
        try await app.test(.live) { client in
            let user = try #require(
                try await client.execute(
                    uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
                ).json["userToken"] as? String)
            let search = "/ex/jira/\(state.cloudId)/rest/api/3/search/jql?jql=project%20%3D%20OPS"
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":429,"count":2,"retryAfter":7}"#))
            for _ in 0..<2 {
                let limited = try await client.execute(
                    uri: search, method: .get, headers: [.authorization: "Bearer \(user)"])
                #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] == "7")
                for header in ["X-RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit-Reason"] {
                    #expect(limited.headers[HTTPField.Name(header)!] != nil, "\(header)")
                }
            }
            #expect(
                try await client.execute(uri: search, method: .get, headers: [.authorization: "Bearer \(user)"]).status
                    == .ok, "the fault ran out")

            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":503,"count":1}"#))
            let unavailable = try await client.execute(uri: "/v1.0/me/onenote/pages/x", method: .get)
            #expect(
                unavailable.status == .serviceUnavailable
                    && (unavailable.json["error"] as? [String: Any])?["code"] as? String == "10002")

            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/","latencyMs":150}"#))
            let start = ContinuousClock.now
            #expect(
                try await client.execute(uri: search, method: .get, headers: [.authorization: "Bearer \(user)"]).status
                    == .ok)
            #expect(ContinuousClock.now - start >= .milliseconds(150), "the added latency is served")
            _ = try await client.execute(uri: "/sandbox/faults", method: .delete)
            let counters = try await client.execute(uri: "/sandbox/counters", method: .get).json
            #expect(counters["search-jql"] as? Int == 2, "faulted requests never reached the route")
        }
    }

    @Test func theThrottleAdmitsFiveAtOnceAndCountsTheWindowsPerUser() throws {
        let throttle = OneNoteThrottle(perMinute: 120, perHour: 400, concurrent: 5)
        for _ in 0..<5 { #expect(throttle.enter(user: "a")) }
        #expect(!throttle.enter(user: "a"), "a sixth concurrent request is refused")
        #expect(throttle.enter(user: "b"), "another user's requests are their own")
        throttle.leave(user: "b")
        throttle.leave(user: "a")
        #expect(throttle.enter(user: "a"))
        for _ in 0..<5 { throttle.leave(user: "a") }
        var admitted = 6
        while throttle.enter(user: "a") {
            throttle.leave(user: "a")
            admitted += 1
        }
        #expect(admitted == 120, "120 requests a minute")
        #expect(!throttle.enter(user: "a"))
        let report = try #require(throttle.report["a"] as? [String: Any])
        #expect(report["longestThrottledRun"] as? Int == 2 && report["throttled"] as? Int == 3, "\(report)")
        #expect(throttle.enter(user: "b"), "b's budget is untouched by a's minute")
    }

    @Test func loginHintChoosesTheMicrosoftUser() throws {
        #expect(MicrosoftUser(loginHint: nil) == nil && MicrosoftUser(loginHint: "") == nil)
        #expect(MicrosoftUser(loginHint: "sandbox.user@example.com") == nil, "the standard user's own name")
        #expect(MicrosoftUser(loginHint: "not an address") == nil)
        let b = try #require(MicrosoftUser(loginHint: "B@example.com"))
        #expect(b == MicrosoftUser(loginHint: "b@example.com"), "one user per hint, case-insensitively")
        #expect(b.id != MicrosoftUser.standard.id && b.userPrincipalName == "b@example.com")
        #expect(b.id != MicrosoftUser(loginHint: "c@example.com")?.id)
    }
}
