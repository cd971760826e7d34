import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import TestSupport
import Testing

@testable import Atlassian
@testable import Rendering
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// The product's Atlassian client against the sandbox over real loopback HTTP. Waits are recorded,
/// not slept, so the retry policy is checked without taking its time.
@Suite("Atlassian client against the sandbox")
struct AtlassianClientTests {
    final class Sleeps: Sendable {
        private let recorded = Mutex<[Duration]>([])
        var all: [Duration] { recorded.withLock { $0 } }
        func record(_ duration: Duration) { recorded.withLock { $0.append(duration) } }
    }

    static func withSandbox(
        extraFilters: Int = 0, _ body: @Sendable (SandboxState, URL, any TestClientProtocol) async throws -> Void
    ) async throws {
        let state = try await SandboxState(
            seed: 11, issues: 60, extraFilters: extraFilters, msClientId: "sandbox-client",
            msClientSecret: "sandbox-secret")
        let app = Application(
            router: SandboxApp.router(state), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: silentLogger)
        try await app.test(.live) { client in
            try await body(state, URL(string: "http://127.0.0.1:\(client.port!)")!, client)
        }
    }

    static func client(_ base: URL, sleeps: Sleeps) -> AtlassianClient {
        AtlassianClient(
            graphQLURL: base.appendingPathComponent("graphql"), transport: CurlTransport(policy: .sandbox),
            sleep: { sleeps.record($0) })
    }

    @Test func offlineTokensActAsTheOwnerAndSearchPagesToTheEnd() async throws {
        try await Self.withSandbox { state, base, client in
            let minted = try await client.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
            ).json
            let system = Secret(minted["systemToken"] as! String)
            let apiBaseUrl = base.appendingPathComponent("ex/jira/\(state.cloudId)")
            let atlassian = Self.client(base, sleeps: Sleeps())

            let one = try await atlassian.offlineUserToken(
                systemToken: system, cloudId: state.cloudId, accountId: "sandbox-user-1")
            let two = try await atlassian.offlineUserToken(
                systemToken: system, cloudId: state.cloudId, accountId: "sandbox-user-2")
            #expect(one.expiresAt > Date().addingTimeInterval(3000))
            let error = await #expect(throws: UpstreamError.self) {
                try await atlassian.offlineUserToken(systemToken: system, cloudId: state.cloudId, accountId: "nobody")
            }
            #expect(error?.code == "impersonation_refused" && error?.kind == .rejected)

            let columns = ["key", "summary", "status", "assignee"]
            let all = try await atlassian.search(
                apiBaseUrl: apiBaseUrl, token: one.token, jql: "project = OPS ORDER BY key", fields: columns,
                pageSize: 7)
            let fewer = try await atlassian.search(
                apiBaseUrl: apiBaseUrl, token: two.token, jql: "project = OPS ORDER BY key", fields: columns,
                pageSize: 7)
            #expect(all.issues.count == 30 && !all.capped)
            #expect(fewer.issues.count < all.issues.count, "impersonation: user 2 sees less")
            #expect(
                all.issues.allSatisfy { Set($0.fields.keys) == ["summary", "status", "assignee"] },
                "exactly the report's columns")
            #expect(all.issues.map(\.key) == all.issues.sorted { Int($0.id)! < Int($1.id)! }.map(\.key))

            let capped = try await atlassian.search(
                apiBaseUrl: apiBaseUrl, token: one.token, jql: "project = OPS", fields: ["key"], cap: 12, pageSize: 5)
            #expect(capped.issues.count == 12 && capped.capped, "the cap is reported, not silently applied")

            // A run's byte budget over all its pages: each page fits, their sum does not.
            var budgeted = atlassian
            budgeted.maxSearchBytes = 6_000
            let overBudget = await #expect(throws: UpstreamError.self) {
                try await budgeted.search(
                    apiBaseUrl: apiBaseUrl, token: one.token, jql: "project = OPS ORDER BY key", fields: columns,
                    pageSize: 7)
            }
            #expect(
                overBudget?.code == "jira_response_too_large" && overBudget?.kind == .rejected,
                "\(String(describing: overBudget))")
            let onePage = try await budgeted.search(
                apiBaseUrl: apiBaseUrl, token: one.token, jql: "project = OPS ORDER BY key", fields: columns, cap: 6,
                pageSize: 7)
            #expect(onePage.issues.count == 6, "one page alone fits the budget; it is the sum that is refused")

            let bad = await #expect(throws: UpstreamError.self) {
                try await atlassian.search(
                    apiBaseUrl: apiBaseUrl, token: one.token, jql: "ORDER BY key", fields: ["key"])
            }
            #expect(bad?.code == "invalid_jql" && bad?.kind == .rejected)

            let jql = try await atlassian.filterJQL(apiBaseUrl: apiBaseUrl, token: one.token, filterId: "10000")
            #expect(jql == "project = OPS AND assignee = currentUser() ORDER BY key")
            let hidden = await #expect(throws: UpstreamError.self) {
                try await atlassian.filterJQL(apiBaseUrl: apiBaseUrl, token: two.token, filterId: "10000")
            }
            #expect(hidden?.code == "filter_not_found")
        }
    }

    /// Every request the product's Atlassian clients make, seen on the wire side of the real transport.
    final class Recorder: HTTPTransport, Sendable {
        let inner: any HTTPTransport
        private let seen = Mutex<[OutboundRequest]>([])
        init(_ inner: any HTTPTransport) { self.inner = inner }
        var requests: [OutboundRequest] { seen.withLock { $0 } }
        func send(_ request: OutboundRequest) async throws -> OutboundResponse {
            seen.withLock { $0.append(request) }
            return try await inner.send(request)
        }
    }

    /// DESIGN §5 "Jira is read-only": every method of both Atlassian clients, driven against the
    /// sandbox, sends only reads — GETs, the search (POST is its documented read form) and the one
    /// GraphQL mutation that mints a user token.
    @Test func savedFiltersArePagedBeyondJirasFirstPageUpToADocumentedCap() async throws {
        try await Self.withSandbox(extraFilters: 65) { state, base, client in
            let minted = try await client.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
            ).json
            let apiBaseUrl = base.appendingPathComponent("ex/jira/\(state.cloudId)")
            let jira = JiraClient(transport: CurlTransport(policy: .sandbox))
            let token = Secret(minted["userToken"] as! String)
            let all = try await jira.filters(apiBaseUrl: apiBaseUrl, userToken: token, query: nil)
            #expect(all.filters.count == 68 && !all.truncated, "own, shared and 65 team filters: \(all.filters.count)")
            #expect(Set(all.filters.map(\.id)).count == 68, "no filter twice across pages")
            let capped = try await jira.filters(apiBaseUrl: apiBaseUrl, userToken: token, query: nil, cap: 60)
            #expect(capped.filters.count == 60 && capped.truncated, "the answer says it was cut")
        }
    }

    @Test func theAtlassianClientsOnlyRead() async throws {
        try await Self.withSandbox { state, base, client in
            let minted = try await client.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
            ).json
            let apiBaseUrl = base.appendingPathComponent("ex/jira/\(state.cloudId)")
            let recorder = Recorder(CurlTransport(policy: .sandbox))
            let atlassian = AtlassianClient(
                graphQLURL: base.appendingPathComponent("graphql"), transport: recorder, sleep: { _ in })
            let user = try await atlassian.offlineUserToken(
                systemToken: Secret(minted["systemToken"] as! String), cloudId: state.cloudId,
                accountId: "sandbox-user-1")
            _ = try await atlassian.search(
                apiBaseUrl: apiBaseUrl, token: user.token, jql: "project = OPS ORDER BY key",
                fields: ["summary", "status"], pageSize: 10)
            _ = try await atlassian.filterJQL(apiBaseUrl: apiBaseUrl, token: user.token, filterId: "10000")
            let jira = JiraClient(transport: recorder)
            let userToken = Secret(minted["userToken"] as! String)
            _ = try await jira.filters(apiBaseUrl: apiBaseUrl, userToken: userToken, query: nil)
            #expect(try await jira.displayName(apiBaseUrl: apiBaseUrl, userToken: userToken) == "Sandbox User One")
            #expect(try await jira.siteTitle(apiBaseUrl: apiBaseUrl, userToken: userToken) == "Sandbox Jira")

            let requests = recorder.requests
            #expect(
                requests.count >= 8,
                "token, three search pages, filter, filter list, myself, serverInfo: \(requests.map(\.url.path))")
            for request in requests {
                let path = request.url.path
                switch request.method {
                case "GET": #expect(path.contains("/rest/api/3/"), "\(path)")
                case "POST" where path.hasSuffix("/rest/api/3/search/jql"): break
                case "POST" where path.hasSuffix("/graphql"):
                    let body = String(decoding: request.body ?? Data(), as: UTF8.self)
                    #expect(
                        body.contains("offlineUserAuthToken") && body.components(separatedBy: "mutation").count == 2,
                        "only the token mutation")
                default: Issue.record("a \(request.method) to \(path) is not a read")
                }
            }
        }
    }

    @Test func throttlingFollowsAtlassiansRetryPolicy() async throws {
        try await Self.withSandbox { state, base, client in
            let user = Secret(
                try await client.execute(
                    uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
                ).json["userToken"] as! String)
            let apiBaseUrl = base.appendingPathComponent("ex/jira/\(state.cloudId)")

            // Two 429s with Retry-After: 2, then success: waited at least 2 s each time, at most 30 % more.
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":429,"count":2,"retryAfter":2}"#))
            let sleeps = Sleeps()
            let result = try await Self.client(base, sleeps: sleeps).search(
                apiBaseUrl: apiBaseUrl, token: user, jql: "project = WEB", fields: ["key"])
            #expect(!result.issues.isEmpty)
            #expect(
                sleeps.all.count == 2 && sleeps.all.allSatisfy { $0 >= .seconds(2) && $0 <= .milliseconds(2600) },
                "\(sleeps.all)")

            // 503 without Retry-After, five times: four retries backing off from 5 s (×0.7–1.3, capped), then back to the queue.
            let backoff = Sleeps()
            var noHeader = AtlassianClient(
                graphQLURL: base, transport: NoRetryAfter(inner: CurlTransport(policy: .sandbox)),
                sleep: { backoff.record($0) })
            noHeader.maxInlineWait = nil
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":503,"count":5}"#))
            let error = await #expect(throws: UpstreamError.self) {
                try await noHeader.search(apiBaseUrl: apiBaseUrl, token: user, jql: "project = WEB", fields: ["key"])
            }
            #expect(error?.kind == .transient && error?.retryAfter != nil)
            let waits = backoff.all.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
            #expect(waits.count == 4)
            #expect(waits[0] >= 3.5 && waits[0] <= 6.5, "5 s × 0.7–1.3")
            #expect(waits.allSatisfy { $0 <= 39 }, "capped at 30 s (× jitter)")

            // By default a wait over 5 s is not slept in the worker's slot; the job goes back
            // to the queue, due no earlier than Atlassian asked.
            let inline = Sleeps()
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":429,"count":1,"retryAfter":20}"#))
            let back = await #expect(throws: UpstreamError.self) {
                try await Self.client(base, sleeps: inline).search(
                    apiBaseUrl: apiBaseUrl, token: user, jql: "project = WEB", fields: ["key"])
            }
            #expect(
                inline.all.isEmpty && back?.kind == .transient && (back?.retryAfter ?? .zero) >= .seconds(20),
                "\(inline.all)")
        }
    }
}

/// Strips `Retry-After`, to exercise the backoff branch of the policy with the sandbox's 503s.
struct NoRetryAfter: HTTPTransport {
    let inner: any HTTPTransport
    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        var response = try await inner.send(request)
        response.headers = response.headers.filter { $0.key.lowercased() != "retry-after" }
        return response
    }
}
