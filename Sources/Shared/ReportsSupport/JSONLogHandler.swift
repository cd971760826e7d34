import Foundation
public import Logging
import Synchronization

/// One JSON object per line: `time`, `level`, `label`, `message`, `metadata`. Used by every executable.
///
/// It prints what it is given; keeping secrets out is the callers' job (values that are secrets are
/// `Secret`, whose every text form is `<redacted>`). Lines go to a `LogSink`: standard error in the
/// executables, a capture in tests.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: any LogSink

    public init(
        label: String, level: Logger.Level = .info, sink: any LogSink = StandardErrorSink.shared,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var object: [String: Any] = [
            "time": Self.timestamp(),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        if !merged.isEmpty { object["metadata"] = merged.mapValues(Self.json) }
        if let error = event.error { object["error"] = String(describing: type(of: error)) }
        sink.write(line: JSONText.serialize(object, escapeAngleBrackets: false))
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(json)
        case .dictionary(let dictionary): dictionary.mapValues(json)
        }
    }

    private static func timestamp() -> String {
        Date().formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where log lines go.
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Standard error, one `write` per line so lines of concurrent tasks never interleave.
public final class StandardErrorSink: LogSink {
    public static let shared = StandardErrorSink()
    private let lock = Mutex(())

    public func write(line: String) {
        lock.withLock { _ in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
