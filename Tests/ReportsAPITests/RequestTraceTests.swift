import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ReportsTesting
import TestSupport
import Testing

@testable import Enqueuer
@testable import ReportsAPI
@testable import ReportsSupport

/// Every response leaves the same trace, error or not: an `x-request-id`
/// header, one `request` log line with that id, and a count in the request metric by route and status.
/// Before, a response made from a thrown error (a 401 probe, a 404) skipped all three.
@Suite("Request trace for every response")
struct RequestTraceTests {
    @Test func errorResponsesGetARequestIdALogLineAndAMetric() async throws {
        let sink = CapturingLogSink()
        let logger = Logger(label: "api") { JSONLogHandler(label: $0, level: .info, sink: sink) }
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test(logger: logger) { client in
                let probes: [(String, HTTPRequest.Method, HTTPFields, String?, HTTPResponse.Status)] = [
                    ("/v1/me", .get, [:], nil, .unauthorized),  // no FIT
                    ("/v1/me", .get, [.authorization: "Bearer not-a-jwt"], nil, .unauthorized),  // a bad FIT
                    ("/v1/nowhere", .get, alice, nil, .notFound),  // no such route
                    ("/v1/reports", .post, alice, "not json", .badRequest),  // a bad body
                    ("/v1/reports/\(UUID().uuidString)", .get, alice, nil, .notFound),  // not theirs
                    ("/v1/me", .get, alice, nil, .ok),
                ]
                for (uri, method, headers, body, status) in probes {
                    let before = sink.lines.count
                    let response = try await client.execute(
                        uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    #expect(response.status == status, "\(uri)")
                    let id = try #require(
                        response.headers[HTTPField.Name("x-request-id")!], "\(uri) \(status): no x-request-id")
                    let lines = sink.lines.dropFirst(before).compactMap { line in
                        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                    }.filter { $0["message"] as? String == "request" }
                    #expect(lines.count == 1, "\(uri) \(status): \(lines.count) request lines")
                    let metadata = lines.first?["metadata"] as? [String: Any]
                    #expect(metadata?["request_id"] as? String == id, "\(uri)")
                    #expect(metadata?["status"] as? String == "\(status.code)", "\(uri)")
                }
            }
            let exposition = harness.services.metrics.exposition()
            for status in ["401", "404", "400", "200"] {
                #expect(
                    exposition.split(separator: "\n").contains {
                        $0.hasPrefix("reports_http_requests_total{") && $0.contains("status=\"\(status)\"")
                    }, "no request metric with status \(status)")
            }
        }
    }
}
