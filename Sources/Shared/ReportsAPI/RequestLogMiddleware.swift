import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ReportsSupport
import Security

/// A request id in every log line of the request and in the `x-request-id` response header; one
/// log line per request with method, route, status and time (never the query: it can hold a code).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        // Our own id: Hummingbird's lives in logger metadata, which a no-op log handler does not keep.
        let requestId = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var context = context
        context.logger[metadataKey: "request_id"] = "\(requestId)"
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.request(
            method: request.method.rawValue, route: route, status: Int(response.status.code), duration: elapsed)
        response.headers[.init("x-request-id")!] = requestId
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(response.status.code)",
                "ms": "\(String(format: "%.2f", elapsed.timeInterval * 1000))",
            ])
        return response
    }
}
