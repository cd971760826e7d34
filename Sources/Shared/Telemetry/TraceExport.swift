public import Foundation
public import Logging
import OTel
public import ServiceLifecycle
import Tracing

/// Where a process's spans go (docs/tracing.md). Over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, through swift-otel, which reads the other
/// standard variables itself (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`). Otherwise nowhere: the process keeps
/// swift-distributed-tracing's no-op tracer, whose spans are never allocated.
///
/// Only traces: the service's metrics stay Prometheus, its logs JSON on standard error (each line
/// carries `trace_id` and `span_id` inside a span: `logMetadata`).
public enum TraceExport {
    /// Why tracing could not start, naming the variable at fault (never its value: a header can hold a key).
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The trace and span of the current task's span, for every log line.
    public static var logMetadata: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }

    /// Whether `environment` asks for spans to be exported.
    public static func isEnabled(_ environment: [String: String]) -> Bool {
        let endpoint = environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"]
        guard let endpoint, !endpoint.isEmpty else { return false }
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        return environment["OTEL_TRACES_EXPORTER"].map { $0.lowercased() != "none" } ?? true
    }

    /// Installs the process's tracer and returns the exporter's service (run it first in the process's
    /// `ServiceGroup`, so it stops last and sends the final spans); nil when tracing is off. Call once.
    public static func bootstrap(
        serviceName: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> (any Service)? {
        guard isEnabled(environment) else { return nil }
        // Checked here: swift-otel stops the process (a precondition, not an error) when asked for the
        // gRPC exporter this build leaves out.
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            guard let value = environment[variable] else { continue }
            guard ["http/protobuf", "http/json"].contains(value) else {
                throw ConfigurationError(
                    description:
                        "\(variable) must be http/protobuf or http/json (this build exports OTLP over HTTP only)")
            }
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        // The OTel default; this build carries the HTTP exporter only (no gRPC).
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.diagnosticLogger = .custom(Logger(label: "reports.tracing"))
        configuration.diagnosticLogLevel = .warning
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            return backend.service
        } catch {
            throw ConfigurationError(
                description:
                    "OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL or another OTEL_ variable is not usable "
                    + "(\(type(of: error))); this build exports OTLP over HTTP (http/protobuf or http/json)")
        }
    }
}
