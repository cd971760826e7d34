import Foundation
import Hummingbird
import JobQueue
import Logging
import Prometheus
import ServiceSetup
import Transport

/// The worker's Prometheus metrics (`--metrics-port`): attempts by kind and outcome, their durations,
/// upstream calls by service and status, in-place retries and the time spent waiting on throttling.
struct WorkerMetrics: WorkerObserver {
    let registry: PrometheusCollectorRegistry

    static var attempts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "job_attempts", unitName: "total",
            helpText: "Finished job attempts by kind and outcome")
    }
    static var durations: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "job_duration", unitName: "seconds",
            helpText: "Job attempt durations by kind")
    }
    static var storage: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "storage_unavailable", unitName: "total",
            helpText:
                "Queue writes that failed because the store could not be used (disk_full, locked, io_error, cannot_write); the worker backs off and keeps its jobs"
        )
    }
    static var upstream: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "upstream_calls", unitName: "total",
            helpText: "Calls to Atlassian and Microsoft by service and status")
    }
    static var retries: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "upstream_retries", unitName: "total",
            helpText: "In-place retries after throttling or unavailability, by service")
    }
    static var waits: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports_worker", metricName: "throttle_wait", unitName: "seconds",
            helpText: "Time spent waiting before retries, by service")
    }
    static let buckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) { self.registry = registry }

    func storageUnavailable(reason: String) {
        registry.makeCounter(descriptor: Self.storage, labels: [("reason", reason)]).increment()
    }

    func attemptFinished(kind: String, outcome: JobOutcome, duration: Duration) {
        let label: String =
            switch outcome {
            case .succeeded: "succeeded"
            case .released: "released"
            case .deferred: "deferred"
            case .failed(let failure): failure.isRetryable ? "retryable_failure" : "permanent_failure"
            }
        registry.makeCounter(descriptor: Self.attempts, labels: [("kind", kind), ("outcome", label)]).increment()
        registry.makeDurationHistogram(descriptor: Self.durations, labels: [("kind", kind)], buckets: Self.buckets)
            .record(duration)
    }

    func upstreamCall(service: String, status: String) {
        registry.makeCounter(descriptor: Self.upstream, labels: [("service", service), ("status", status)]).increment()
    }

    /// A sleep for the clients' retry loops that counts the retry and the wait.
    func sleeper(service: String) -> @Sendable (Duration) async throws -> Void {
        { duration in
            registry.makeCounter(descriptor: Self.retries, labels: [("service", service)]).increment()
            registry.makeDurationHistogram(
                descriptor: Self.waits, labels: [("service", service)], buckets: Self.buckets
            ).record(duration)
            try await Task.sleep(for: duration)
        }
    }

    func exposition() -> String { registry.emitToString() }

    /// `/metrics` and a liveness `/healthz` on 127.0.0.1 (scraped locally; never exposed through nginx),
    /// with the same timeouts and connection cap as the API.
    func server(port: Int, limits: HTTPServerLimits, logger: Logger) -> Application<
        RouterResponder<BasicRequestContext>
    > {
        let router = Router()
        router.get("/healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: exposition())))
        }
        return Application(
            router: router, server: limits.server,
            configuration: limits.configuration(address: .hostname("127.0.0.1", port: port), logger: logger),
            logger: logger)
    }
}

/// Counts every outbound call by service (from the URL) and status, around the real transport.
struct MeteredTransport: HTTPTransport {
    let inner: any HTTPTransport
    let metrics: WorkerMetrics

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let service = Self.service(request.url)
        do {
            let response = try await inner.send(request)
            metrics.upstreamCall(service: service, status: String(response.status))
            return response
        } catch {
            metrics.upstreamCall(service: service, status: "error")
            throw error
        }
    }

    static func service(_ url: URL) -> String {
        let path = url.path
        if path.hasSuffix("/graphql") { return "atlassian_graphql" }
        if path.contains("/rest/api/") { return "jira" }
        if path.contains("/oauth2/") { return "microsoft_identity" }
        if path.contains("/onenote/") { return "onenote" }
        if path.hasPrefix("/v1.0/") { return "graph" }
        return "other"
    }
}
