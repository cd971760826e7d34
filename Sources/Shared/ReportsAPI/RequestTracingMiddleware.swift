import HTTPTypes
import Hummingbird
import Tracing

/// A server span for each API request: method, matched route and status. Its context is the
/// request's, so the enqueue and every upstream call of the request are its children and the
/// request's log lines carry its `trace_id`. Each request starts a trace of its own: a `traceparent`
/// header is ignored, because the API faces the internet and a caller must not choose the trace ids
/// (or the sampling) of the operators' traces.
///
/// Not Hummingbird's `TracingMiddleware`: that one records the URL's query, and the connect flow's
/// callback carries the OAuth code there. This span holds no path, query, header or body; the route is
/// the pattern (`/v1/reports/{id}`), never the address asked for. Health checks and metric scrapes
/// are not traced (a scrape every few seconds would bury the traces anyone reads).
struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    static var untraced: Set<String> { ["/healthz", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if Self.untraced.contains(request.uri.path) { return try await next(request, context) }
        let method = request.method.rawValue
        let span = startSpan("HTTP \(method)", context: ServiceContext.topLevel, ofKind: .server)
        span.attributes["http.request.method"] = method
        defer { span.end() }
        do {
            let response = try await ServiceContext.withValue(span.context) { try await next(request, context) }
            finish(span, method, context: context, status: Int(response.status.code))
            return response
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            finish(span, method, context: context, status: status)
            throw error
        }
    }

    private func finish(_ span: any Span, _ method: String, context: Context, status: Int) {
        let route = context.endpointPath ?? "unmatched"
        span.operationName = "\(method) \(route)"
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(.init(code: .error)) }
    }
}
