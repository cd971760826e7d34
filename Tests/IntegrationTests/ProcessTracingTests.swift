import Foundation
import ReportsTesting
import TestSupport
import Testing

/// One Run now is one trace across processes: `enqueuer serve` and `worker run` export their spans over
/// OTLP/HTTP to a local receiver, and the job carries the API's trace to the worker (its `traceparent`
/// in the job's row). No span attribute holds a token, the report's query or an issue's text.
@Suite("Traces through real processes", .serialized)
struct ProcessTracingTests {
    /// An exporter this build does not carry (gRPC) is a configuration error naming the variable, not
    /// a crash: swift-otel traps on it, so the process checks first.
    @Test func anExporterThisBuildLacksStopsTheWorkerWithAConfigurationError() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var environment = [
            "REPORTS_DATABASE": directory.file("reports.sqlite"),
            "REPORTS_TOKEN_KEYS": "k1:" + Data(repeating: 7, count: 32).base64EncodedString(),
            "MS_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e", "MS_CLIENT_SECRET": "test-secret",
            "MS_REDIRECT_URI": "https://reports.example.com/oauth/microsoft/callback",
        ]
        #expect(
            try await ChildProcess.run("enqueuer", ["migrate"], environment: environment, in: directory).status == 0)
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
        let worker = try await ChildProcess.run(
            "worker", ["run", "--id", "w-otel"], environment: environment, in: directory, timeout: .seconds(30))
        #expect(worker.status == 78, "\(worker.output)")
        #expect(worker.output.contains("OTEL_EXPORTER_OTLP_PROTOCOL must be"), "\(worker.output)")
    }

    @Test func oneRunNowIsOneTraceFromTheRequestToThePageWrite() async throws {
        try await OTLPReceiver.run { receiver, endpoint in
            let stack = try await ProcessStack(environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                // Batches leave every 100 ms, so the test waits for spans, not for the default 5 s.
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            ])
            defer { stack.remove() }
            try stack.startWorker("w-trace")
            #expect(try await stack.installAndConnect())
            let reportId = try #require(try await stack.createReport())
            // Jira throttles the search once (Retry-After: 1): the wait is an event of that request's span.
            try await stack.fault(#"{"route":"/ex/jira/*/search*","status":429,"count":1,"retryAfter":1}"#)
            // A caller's traceparent is not taken: the API's request starts its own trace.
            let forged = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            var headers = try await stack.headers()
            headers["traceparent"] = forged
            let runNow = try await ProcessStack.call(
                "POST", "\(stack.apiBase)/v1/reports/\(reportId)/runs", headers: headers)
            let runId = try #require(runNow.json["id"] as? String)
            let ended = try await stack.waitForRun(runId)
            #expect(ended["status"] as? String == "succeeded", "\(ended)")

            // The request's span names the route's pattern, never the report's id.
            var request: OTLPReceiver.ReceivedSpan?
            var trace: [OTLPReceiver.ReceivedSpan] = []
            let complete = try await waitUntil(timeout: .seconds(20), pollEvery: .milliseconds(50)) {
                let spans = receiver.spans
                request = spans.first { $0.name == "POST /v1/reports/{id}/runs" }
                guard let request else { return false }
                trace = spans.filter { $0.traceId == request.traceId }
                return trace.contains { $0.name == "page write" } && trace.contains { $0.name == "run-report" }
            }
            #expect(complete, "spans: \(receiver.spans.map { "\($0.service) \($0.name)" })")
            let root = try #require(request)
            #expect(root.service == "onenote-reports-enqueuer" && root.attributes["http.response.status_code"] == "202")
            #expect(root.traceId != "0af7651916cd43dd8448eb211c80319c" && root.parentSpanId == nil)

            // Parent order: request → enqueue → lease → handler → (upstream requests, page write → render).
            func parent(of span: OTLPReceiver.ReceivedSpan) -> OTLPReceiver.ReceivedSpan? {
                trace.first { $0.spanId == span.parentSpanId }
            }
            let enqueue = try #require(trace.first { $0.name == "enqueue run-report" })
            let lease = try #require(trace.first { $0.name == "lease run-report" })
            let handler = try #require(trace.first { $0.name == "run-report" })
            #expect(parent(of: enqueue)?.spanId == root.spanId)
            #expect(parent(of: lease)?.spanId == enqueue.spanId, "the worker continues the API's trace")
            #expect(lease.service == "onenote-reports-worker" && handler.service == "onenote-reports-worker")
            #expect(parent(of: handler)?.spanId == lease.spanId)
            #expect(handler.attributes["job.outcome"] == "succeeded")
            let jira = trace.filter { $0.attributes["upstream.service"] == "jira" }
            let graph = trace.filter { $0.attributes["upstream.service"] == "graph" }
            #expect(!jira.isEmpty && !graph.isEmpty, "\(trace.map(\.name))")
            let page = try #require(trace.first { $0.name == "page write" })
            #expect(parent(of: page)?.spanId == handler.spanId)
            #expect(jira.allSatisfy { parent(of: $0)?.spanId == handler.spanId })
            #expect(graph.allSatisfy { parent(of: $0)?.spanId == page.spanId })
            #expect(trace.contains { $0.name == "render" && parent(of: $0)?.spanId == page.spanId })
            let throttled = try #require(jira.first { $0.attributes["http.response.status_code"] == "429" })
            #expect(throttled.events == ["throttled"] && throttled.attributes["upstream.attempt"] == "1")
            #expect(
                jira.contains {
                    $0.attributes["upstream.attempt"] == "2" && $0.attributes["http.response.status_code"] == "200"
                }, "the search asked again after the wait")

            // Nothing secret in any attribute of any span: tokens, keys, the query, issue text, ids in paths.
            let values = receiver.spans.flatMap { $0.attributes.values }.joined(separator: "\n")
            for secret in stack.secrets { #expect(!values.contains(secret)) }
            for text in ["project = OPS", "ORDER BY", reportId, runId, "Bearer"] {
                #expect(!values.contains(text), "a span attribute holds \(text)")
            }

            // The logs of the request and of the run carry the trace.
            let traced = stack.logs.split(separator: "\n").filter { $0.contains("\"trace_id\":\"\(root.traceId)\"") }
            #expect(traced.contains { $0.contains("\"message\":\"request\"") }, "the request's log line")
            #expect(traced.contains { $0.contains("\"message\":\"report written\"") }, "the run's log line")
        }
    }
}
