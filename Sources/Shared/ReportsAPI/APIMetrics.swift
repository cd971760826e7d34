import Foundation
import JobQueue
import Microsoft
public import Prometheus
import Reports
import Security

/// Prometheus metrics of the API: requests by route and status, latency, FIT failures by code,
/// enqueued jobs. A registry of its own per application, so tests can read it.
public struct APIMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "http_requests", unitName: "total",
            helpText: "API requests by method, route and status")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "http_request_duration", unitName: "seconds",
            helpText: "API request latency by route")
    }
    static var fitFailures: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "fit_failures", unitName: "total",
            helpText: "Refused Forge Invocation Tokens by code")
    }
    static var enqueued: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "enqueued_jobs", unitName: "total",
            helpText: "Report jobs enqueued by the API, by trigger")
    }
    static var queueJobs: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "queue_jobs", unitName: "",
            helpText: "Jobs in the queue by state, read at scrape time (scheduled = available but not yet due)")
    }
    static var queueOldest: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "queue_oldest_due_age", unitName: "seconds",
            helpText: "How long the longest-waiting due job has waited")
    }
    static var queueKeys: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "queue_keys_waiting", unitName: "",
            helpText: "Fairness keys (Microsoft users) with a due job waiting")
    }
    static var queueDeferred: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "queue_deferred_jobs", unitName: "",
            helpText:
                "Waiting jobs handed back without using an attempt, by reason (onenote_budget_exhausted: their user's OneNote budget is spent)"
        )
    }
    static var storageUnavailable: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "storage_unavailable", unitName: "total",
            helpText:
                "Requests answered 503 storage_unavailable, and skipped incidental writes, by reason (disk_full, locked, io_error, cannot_write)"
        )
    }
    static var lateness: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "reports", metricName: "schedule_lateness", unitName: "seconds",
            helpText: "How late scheduled runs of the last hour were, from slot to enqueued and to started")
    }
    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        // Zeros are data too: every FIT failure code shows up from the start.
        for code in FITVerificationError.allCodes {
            _ = registry.makeCounter(descriptor: Self.fitFailures, labels: [("code", code)])
        }
        _ = registry.makeCounter(descriptor: Self.enqueued, labels: [("trigger", "manual")])
    }

    func request(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.requests, labels: [("method", method), ("route", route), ("status", "\(status)")]
        ).increment()
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("route", route)], buckets: Self.buckets)
            .record(duration)
    }

    func storageUnavailable(reason: String) {
        registry.makeCounter(descriptor: Self.storageUnavailable, labels: [("reason", reason)]).increment()
    }

    func fitFailure(code: String) {
        registry.makeCounter(descriptor: Self.fitFailures, labels: [("code", code)]).increment()
    }

    func enqueued(trigger: String) {
        registry.makeCounter(descriptor: Self.enqueued, labels: [("trigger", trigger)]).increment()
    }

    /// Queue depth by state, set from one `stats()` read per scrape (all workers share the file).
    func queue(_ stats: QueueStats) {
        for (state, count) in [
            ("available", stats.available), ("scheduled", stats.scheduled), ("running", stats.running),
            ("succeeded", stats.succeeded), ("discarded", stats.discarded),
        ] {
            registry.makeGauge(descriptor: Self.queueJobs, labels: [("state", state)]).set(Double(count))
        }
        registry.makeGauge(descriptor: Self.queueOldest).set(stats.oldestAvailableAgeSeconds)
        registry.makeGauge(descriptor: Self.queueKeys).set(Double(stats.keysWaiting))
        // Zeros are data too: the budget reason shows up before the first deferral.
        var deferred = stats.deferred
        deferred[OneNoteRateLimiter.exhaustedCode, default: 0] += 0
        for (reason, count) in deferred {
            registry.makeGauge(descriptor: Self.queueDeferred, labels: [("reason", reason)]).set(Double(count))
        }
    }

    func lateness(_ lateness: ScheduleLateness) {
        for (stage, value) in [("enqueued", lateness.enqueued), ("started", lateness.started)] {
            registry.makeGauge(descriptor: Self.lateness, labels: [("stage", stage), ("quantile", "0.95")]).set(
                value.p95Seconds)
            registry.makeGauge(descriptor: Self.lateness, labels: [("stage", stage), ("quantile", "1")]).set(
                value.maxSeconds)
        }
    }

    func exposition() -> String { registry.emitToString() }
}
