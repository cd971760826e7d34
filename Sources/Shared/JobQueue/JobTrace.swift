public import ServiceContextModule
public import Tracing

/// How a trace crosses the queue: the enqueuer's span context, written as a W3C `traceparent`
/// (https://www.w3.org/TR/trace-context/#traceparent-header) into the job's row, and read back by the
/// worker as the parent of the job's spans. The tracer in use does the writing and reading
/// (`InstrumentationSystem`); with tracing off nothing is written and a job's spans start no trace.
public enum JobTrace {
    /// The `traceparent` of `context`'s span, if the process traces and the context has one.
    public static func traceParent(of context: ServiceContext? = .current) -> String? {
        guard let context else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"].flatMap { isWellFormed($0) ? $0 : nil }
    }

    /// A context whose span is the one `traceParent` names (a new top level when nil).
    public static func context(traceParent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceParent else { return context }
        InstrumentationSystem.instrument.extract(
            ["traceparent": traceParent], into: &context, using: DictionaryExtractor())
        return context
    }

    /// `version-traceid-parentid-flags`: 2, 32, 16 and 2 lowercase hex digits. Anything else is
    /// not stored, so a job's row never carries text a caller chose.
    public static func isWellFormed(_ value: String) -> Bool {
        let parts = value.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.map(\.count) == [2, 32, 16, 2] else { return false }
        return parts.allSatisfy { $0.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }
    }
}

private struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

private struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
