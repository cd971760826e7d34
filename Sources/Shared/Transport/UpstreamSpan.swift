public import Foundation
public import Tracing

/// One request to an upstream (Jira, Atlassian's GraphQL, Microsoft identity, Graph) as a client span
/// of the current trace: the service, method, host and port, which attempt it is, and the answer's
/// status; a throttled answer's wait is an event of the span. Never the URL's path or query, a header
/// or a body: they can hold a JQL string, a token or page content (docs/tracing.md).
///
/// The caller ends the span: `end()` after a usable answer, `throttled(wait:)` when it waits before
/// asking again or hands the wait to the queue. `send` ends it itself when no answer came.
public struct UpstreamSpan: Sendable {
    private let span: any Span

    /// Starts the span of `request` to `service` (a fixed name: `jira`, `atlassian_graphql`,
    /// `atlassian_personal_data`, `microsoft`, `graph`); `attempt` counts from 1 within the caller's
    /// own retries.
    public init(_ service: String, _ request: OutboundRequest, attempt: Int) {
        span = startSpan("\(service) \(request.method)", ofKind: .client)
        span.updateAttributes { attributes in
            attributes["upstream.service"] = service
            attributes["http.request.method"] = request.method
            attributes["server.address"] = request.url.host
            attributes["server.port"] = request.url.port
            attributes["upstream.attempt"] = attempt
        }
    }

    /// Sends `request` over `transport` and records the status; a transport error is recorded by type
    /// (its message names the host only) and ends the span.
    public func send(_ request: OutboundRequest, over transport: any HTTPTransport) async throws
        -> OutboundResponse
    {
        do {
            let response = try await transport.send(request)
            span.attributes["http.response.status_code"] = response.status
            if response.status >= 500 || response.status == 429 { span.setStatus(.init(code: .error)) }
            return response
        } catch {
            span.attributes["error.type"] = "\(type(of: error))"
            span.setStatus(.init(code: .error))
            span.end()
            throw error
        }
    }

    /// The answer told the caller to wait `wait` (in place, or in the queue when it gives up here).
    public func throttled(wait: Duration) {
        let milliseconds = wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000
        span.addEvent(SpanEvent(name: "throttled", attributes: ["upstream.wait_ms": .int64(milliseconds)]))
        span.end()
    }

    public func end() { span.end() }
}
