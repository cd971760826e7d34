import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Sandbox
@testable import Transport

/// The sandbox's Jira page acts as any seeded account, so it must not be drivable by another web page
/// (the second security review): the invoke route takes only JSON from the sandbox's own origin, the
/// host page has a policy that allows only itself and the UI's frame, and no page may frame it.
@Suite("Sandbox Jira page: only its own page drives it")
struct SandboxJiraHostTests {
    static func withHost(_ body: @Sendable (String, any TestClientProtocol) async throws -> Void) async throws {
        let state = try await SandboxState(
            seed: 7, issues: 10, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
        let host = JiraHost(state: state, apiURL: nil, uiDirectory: "deploy/forge/static/reports")
        let app = Application(
            router: SandboxApp.router(state, jiraHost: host),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        try await app.test(.live) { client in
            let origin = "http://127.0.0.1:\(client.port!)"
            state.setOrigin(origin)
            try await body(origin, client)
        }
    }

    static let invocation = #"{"accountId":"sandbox-user-1","input":{"path":"/v1/me","method":"GET"}}"#

    @Test func theInvokeRouteTakesOnlyJSONFromTheSandboxsOwnOrigin() async throws {
        try await Self.withHost { origin, client in
            func invoke(_ headers: HTTPFields, _ body: String = Self.invocation) async throws -> HTTPResponse.Status {
                try await client.execute(
                    uri: "/jira/invoke", method: .post, headers: headers, body: ByteBuffer(string: body)
                ).status
            }
            let repeated =
                #"{"accountId":"sandbox-user-2","accountId":"sandbox-user-1","input":{"path":"/v1/me","method":"GET"}}"#
            let cases: [(HTTPFields, String, HTTPResponse.Status)] = [
                // What any web page can send without a preflight: a text/plain or form post.
                ([.contentType: "text/plain", .origin: "http://evil.example"], Self.invocation, .unsupportedMediaType),
                ([.contentType: "text/plain", .origin: origin], Self.invocation, .unsupportedMediaType),
                (
                    [.contentType: "application/x-www-form-urlencoded", .origin: origin], Self.invocation,
                    .unsupportedMediaType
                ),
                // JSON, but from another origin, or with no origin at all.
                ([.contentType: "application/json", .origin: "http://evil.example"], Self.invocation, .forbidden),
                ([.contentType: "application/json", .origin: "null"], Self.invocation, .forbidden),
                ([.contentType: "application/json"], Self.invocation, .forbidden),
                // A repeated key is refused, not guessed at.
                ([.contentType: "application/json", .origin: origin], repeated, .badRequest),
                // The host page's own call gets through the checks (503 here: no API is configured).
                (
                    [.contentType: "application/json; charset=utf-8", .origin: origin], Self.invocation,
                    .serviceUnavailable
                ),
            ]
            for (headers, body, expected) in cases {
                let status = try await invoke(headers, body)
                #expect(status == expected, "\(headers): \(status)")
            }
        }
    }

    @Test func theHostPageHasAPolicyAndCannotBeFramed() async throws {
        try await Self.withHost { origin, client in
            let page = try await client.execute(uri: "/jira/app", method: .get)
            #expect(page.status == .ok)
            let policy = try #require(page.headers[.contentSecurityPolicy])
            for directive in [
                "default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'",
                "frame-src \(origin.replacingOccurrences(of: "127.0.0.1", with: "localhost"))",
            ] {
                #expect(policy.contains(directive), "\(policy)")
            }
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
        }
    }

    @Test func loopbackMeansAnAddressIn127Slash8NotANameThatStartsWith127() {
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.254", "localhost", "LOCALHOST", "::1", "[::1]"] {
            #expect(OutboundURLPolicy.isLoopback(host), "\(host)")
        }
        for host in [
            "127.0.0.1.example.com", "127.evil.com", "127.", "0x7f.0.0.1", "128.0.0.1", "10.0.0.1", "::2",
            "localhost.example.com", "",
        ] {
            #expect(!OutboundURLPolicy.isLoopback(host), "\(host)")
        }
        #expect(!OutboundURLPolicy.sandbox.permits(URL(string: "http://127.0.0.1.nip.io:8080/")!))
        #expect(OutboundURLPolicy.sandbox.permits(URL(string: "http://127.0.0.1:8080/")!))
    }
}
