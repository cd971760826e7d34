import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceSetup
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The request deadline of every HTTP server of ours, byte by byte over loopback: a request must arrive
/// whole within the deadline of the connection being ready for it, however it trickles; once read, its
/// handling takes as long as it takes, pipelined requests included.
@Suite("HTTP server limits: the request deadline")
struct HTTPServerLimitsTests {
    static func withServer(_ body: @Sendable (Int) async throws -> Void) async throws {
        var limits = HTTPServerLimits()
        limits.requestTimeout = .seconds(1)
        let router = Router()
        router.get("/fast") { _, _ in "fast" }
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: .milliseconds(1_500))
            return "slow"
        }
        let app = Application(
            router: router, server: limits.server,
            configuration: limits.configuration(address: .hostname("127.0.0.1", port: 0), logger: silentLogger),
            logger: silentLogger)
        try await app.test(.live) { client in try await body(client.port!) }
    }

    @Test func aRequestThatTricklesPastTheDeadlineIsCutOff() async throws {
        try await Self.withServer { port in
            let connection = try RawHTTP(port: port)
            defer { connection.close() }
            try connection.send("GET /fast HTTP/1.1\r\n")
            // A header line every 400 ms: each part is "activity", but the request is never whole.
            var cut = false
            for index in 0..<6 {
                try await Task.sleep(for: .milliseconds(400))
                if (try? connection.send("X-Slow-\(index): y\r\n")) == nil || connection.isClosedByPeer {
                    cut = true
                    break
                }
            }
            #expect(cut, "the connection was still open 2.4 s into a request with a 1 s deadline")
        }
    }

    @Test func aSlowHandlerIsNotCutOffNorIsARequestPipelinedBehindAnother() async throws {
        try await Self.withServer { port in
            let connection = try RawHTTP(port: port)
            defer { connection.close() }
            #expect(try connection.request("/slow") == 200, "handling may take longer than the deadline")
            // Two requests in one write; the second is slow and its turn comes after the first's answer.
            try connection.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse() == 200)
            #expect(try connection.readResponse() == 200, "the pipelined slow request was answered")
        }
    }
}
