import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import TestSupport
import Testing

@testable import Atlassian
@testable import Security
@testable import Transport
@testable import Upstream

/// The outbound transport against real loopback servers.
@Suite("Outbound transport: redirects and response size")
struct TransportTests {
    /// Runs a live loopback server with `router` and hands its base URL to `body`.
    private static func serve<T: Sendable>(
        _ router: Router<BasicRequestContext>, _ body: @Sendable (URL) async throws -> T
    ) async throws -> T {
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        return try await app.test(.live) { client in try await body(URL(string: "http://127.0.0.1:\(client.port!)")!) }
    }

    @Test func redirectsAreNotFollowedSoTheBearerTokenStaysWithTheOriginItWasFor() async throws {
        let stolen = Mutex<[String]>([])
        let target = Router()
        target.get("/steal") { request, _ -> String in
            stolen.withLock { $0.append(request.headers[.authorization] ?? "none") }
            return "{}"
        }
        try await Self.serve(target) { targetBase in
            let redirector = Router()
            for status in [
                HTTPResponse.Status.movedPermanently, .found, .seeOther, .temporaryRedirect, .permanentRedirect,
            ] {
                redirector.get("/\(status.code)") { _, _ in
                    Response(
                        status: status, headers: [.location: targetBase.appendingPathComponent("steal").absoluteString])
                }
            }
            try await Self.serve(redirector) { base in
                let transport = CurlTransport(policy: .sandbox)
                for code in [301, 302, 303, 307, 308] {
                    let response = try await transport.send(
                        OutboundRequest(
                            url: base.appendingPathComponent("\(code)"),
                            headers: ["Authorization": "Bearer canary-token"]))
                    #expect(response.status == code, "the \(code) comes back to the caller")
                }
            }
        }
        #expect(stolen.withLock { $0 }.isEmpty, "the redirect target got no request, so no token")

        // The Atlassian client classifies one: permanent, with a code that says what happened.
        let redirector = Router()
        redirector.post("/graphql") { _, _ in
            Response(status: .temporaryRedirect, headers: [.location: "http://127.0.0.1:1/elsewhere"])
        }
        try await Self.serve(redirector) { base in
            let atlassian = AtlassianClient(
                graphQLURL: base.appendingPathComponent("graphql"), transport: CurlTransport(policy: .sandbox),
                sleep: { _ in })
            do {
                _ = try await atlassian.offlineUserToken(
                    systemToken: Secret("system"), cloudId: "cloud-1", accountId: "557058:alice")
                Issue.record("a redirect was taken for an answer")
            } catch let error as UpstreamError {
                #expect(error.code == "atlassian_graphql_redirected" && error.kind == .rejected, "\(error)")
            }
        }
    }

    /// The process's peak resident memory, in bytes, since the last reset.
    private static func peakResident() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// The security review's case: a 600 MB answer with no length announced (chunked) against a 16 MB
    /// cap was refused only after the whole transfer, at 739–758 MB peak RSS, because URLSession hands
    /// the body to its delegate on another queue with no backpressure. The cap is now enforced inside
    /// libcurl's body callback: the transfer is abandoned within a second of crossing it, and peak
    /// memory grows by at most the cap plus 32 MB.
    @Test func aChunkedAnswerPastTheCapIsAbandonedAtOnceAndCostsNoMoreThanTheCap() async throws {
        let cap = 16 << 20
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
        let router = Router()
        // Past the cap at once, then a megabyte every 10 ms: 6 s for the whole 600 MB, so a client that
        // reads to the end (as URLSession did) takes 6 s, and one that stops at the cap, milliseconds.
        router.get("/chunked") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for index in 0..<600 {
                        if index > cap >> 20 { try await Task.sleep(for: .milliseconds(10)) }
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/declared") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody(contentLength: 600 << 20) { writer in
                    for _ in 0..<600 { try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
        }
        router.get("/small") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "y"), count: cap - 1)))
        }
        try await Self.serve(router) { base in
            let transport = CurlTransport(policy: .sandbox, maxResponseBytes: cap)
            let small = try await transport.send(OutboundRequest(url: base.appendingPathComponent("small")))
            #expect(small.body.count == cap - 1, "an answer under the cap arrives whole")

            // Reset the kernel's peak-RSS counter (Linux: "5" to clear_refs), then take the huge answers.
            for path in ["chunked", "declared"] {
                try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
                let before = try Self.peakResident()
                let started = ContinuousClock.now
                do {
                    _ = try await transport.send(
                        OutboundRequest(url: base.appendingPathComponent(path), timeout: .seconds(60)))
                    Issue.record("\(path): a 600 MB answer was accepted under a 16 MB cap")
                } catch let error as HTTPTransportError {
                    #expect(error == .responseTooLarge(0), "\(path): \(error)")
                }
                let grown = try Self.peakResident() - before
                let took = ContinuousClock.now - started
                #expect(took < .seconds(1), "\(path): abandoned \(took) after the request, the cap crossed at once")
                #expect(grown <= cap + (32 << 20), "\(path): peak memory grew by \(grown >> 20) MB for a 600 MB answer")
            }
        }
    }
}
