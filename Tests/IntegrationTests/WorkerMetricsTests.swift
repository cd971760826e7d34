import Foundation
import QueueTesting
import SecurityTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import SQLiteBackend
@testable import Transport
@testable import Worker

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Worker metrics")
struct WorkerMetricsTests {
    @Test func attemptsAreCountedByKindAndOutcome() async throws {
        let fixture = try QueueFixture(
            retryStrategy: .exponentialJitter(base: .milliseconds(10), maxBackoff: .milliseconds(20)), realClock: true)
        defer { fixture.remove() }
        let metrics = WorkerMetrics()
        _ = try await fixture.queue.enqueue([
            try diagnostic(), try diagnostic(.init(failTimes: 1)), rawJob("no-such-kind"),
        ])
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([DiagnosticJob()]),
            configuration: WorkerConfiguration(workerId: "m"), logger: silentLogger, observer: metrics)
        try await withRuntime(runtime) { () async throws in
            #expect(try await waitUntil(timeout: .seconds(30)) { try await fixture.queue.stats().succeeded == 2 })
        }
        let text = metrics.exposition()
        #expect(
            text.contains(#"reports_worker_job_attempts_total{kind="diagnostic",outcome="succeeded"} 2"#), "\(text)")
        #expect(text.contains(#"reports_worker_job_attempts_total{kind="diagnostic",outcome="retryable_failure"} 1"#))
        #expect(text.contains(#"reports_worker_job_attempts_total{kind="no-such-kind",outcome="permanent_failure"} 1"#))
        #expect(text.contains("reports_worker_job_duration_seconds_bucket"))
    }

    @Test func upstreamCallsAreCountedByServiceAndStatus() async throws {
        #expect(MeteredTransport.service(URL(string: "https://api.atlassian.com/graphql")!) == "atlassian_graphql")
        #expect(
            MeteredTransport.service(URL(string: "https://api.atlassian.com/ex/jira/c/rest/api/3/search/jql")!)
                == "jira")
        #expect(
            MeteredTransport.service(URL(string: "https://login.microsoftonline.com/common/oauth2/v2.0/token")!)
                == "microsoft_identity")
        #expect(
            MeteredTransport.service(URL(string: "https://graph.microsoft.com/v1.0/me/onenote/pages/x")!) == "onenote")
        let metrics = WorkerMetrics()
        let server = JWKSServer(body: "{}")
        try await server.run { url in
            let transport = MeteredTransport(inner: CurlTransport(policy: .sandbox), metrics: metrics)
            _ = try await transport.send(OutboundRequest(url: url))
            server.serve("", status: 503)
            _ = try await transport.send(OutboundRequest(url: url))
        }
        let text = metrics.exposition()
        #expect(text.contains(#"reports_worker_upstream_calls_total{service="other",status="200"} 1"#), "\(text)")
        #expect(text.contains(#"reports_worker_upstream_calls_total{service="other",status="503"} 1"#))
        try await metrics.sleeper(service: "onenote")(.milliseconds(1))
        #expect(metrics.exposition().contains(#"reports_worker_upstream_retries_total{service="onenote"} 1"#))
    }

    @Test func aWorkerProcessServesItsMetrics() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = ["REPORTS_DATABASE": directory.file("r.sqlite")]
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        let port = TestPorts.unassigned()
        let worker = try ChildProcess(
            "worker", ["run", "--id", "metrics", "--metrics-port", "\(port)"], environment: env,
            outputPath: directory.file("w.log"))
        defer {
            worker.signal(SIGTERM)
            worker.process.waitUntilExit()
        }
        _ = try await ChildProcess.run(
            "enqueuer", ["queue", "enqueue-diagnostic", "--count", "3"], environment: env, in: directory)
        var text = ""
        let served = try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(50)) {
            guard
                let (data, _) = try? await URLSession.shared.data(
                    for: URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!, timeoutInterval: 2))
            else { return false }
            text = String(decoding: data, as: UTF8.self)
            return text.contains(#"outcome="succeeded"} 3"#)
        }
        #expect(served, "\(text)\n\(worker.output)")
        let (health, response) = try await URLSession.shared.data(
            from: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: health, as: UTF8.self) == #"{"status":"ok"}"#)
    }
}
