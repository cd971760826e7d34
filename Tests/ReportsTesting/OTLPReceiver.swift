package import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization

/// A local OTLP/HTTP receiver for traces in JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), as a
/// collector would take them: `POST /v1/traces`, answered 200 with an empty export response. It keeps
/// every span it is sent, with the `service.name` of the process that sent it.
package final class OTLPReceiver: Sendable {
    package struct ReceivedSpan: Sendable {
        package let service: String
        package let name: String
        package let traceId: String
        package let spanId: String
        package let parentSpanId: String?
        /// Attribute values as text, by key.
        package let attributes: [String: String]
        package let events: [String]
    }

    private let received = Mutex<[ReceivedSpan]>([])

    package var spans: [ReceivedSpan] { received.withLock { $0 } }

    /// Runs a receiver on a loopback port for `body`, which gets it and its endpoint's base URL.
    package static func run(_ body: @Sendable (OTLPReceiver, String) async throws -> Void) async throws {
        let receiver = OTLPReceiver()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            receiver.take(Data(bytes.readableBytesView))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        var logger = Logger(label: "otlp-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            try await body(receiver, "http://127.0.0.1:\(client.port!)")
        }
    }

    /// OTLP's JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
    private func take(_ data: Data) {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        var spans: [ReceivedSpan] = []
        for resource in root["resourceSpans"] as? [[String: Any]] ?? [] {
            let resourceAttributes = Self.attributes((resource["resource"] as? [String: Any])?["attributes"])
            let service = resourceAttributes["service.name"] ?? ""
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    let parent = span["parentSpanId"] as? String
                    spans.append(
                        ReceivedSpan(
                            service: service, name: span["name"] as? String ?? "",
                            traceId: Self.hex(span["traceId"] as? String ?? ""),
                            spanId: Self.hex(span["spanId"] as? String ?? ""),
                            parentSpanId: parent.flatMap { $0.isEmpty ? nil : Self.hex($0) },
                            attributes: Self.attributes(span["attributes"]),
                            events: (span["events"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }))
                }
            }
        }
        received.withLock { $0 += spans }
    }

    /// Ids arrive as protobuf JSON's base64 of their bytes; logs print them in hex.
    private static func hex(_ base64: String) -> String {
        guard let bytes = Data(base64Encoded: base64) else { return base64 }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func attributes(_ list: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for attribute in list as? [[String: Any]] ?? [] {
            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any],
                let first = value.values.first
            else { continue }
            result[key] = "\(first)"
        }
        return result
    }
}
