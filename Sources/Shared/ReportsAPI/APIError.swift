import Foundation
import Hummingbird
import HTTPTypes
import Logging
import ReportsSupport
import SQLiteStorage

/// Every error the API answers: `{"error":{"code":"…","message":"…"}}` with a stable code.
struct APIError: HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// Sent as `Retry-After` (a 429 or a 503 that knows when to come back).
    let retryAfterSeconds: Int?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    var description: String { "\(status.code) \(code): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Self.jsonResponse(status: status, body: ["error": ["code": code, "message": message]])
        if let retryAfterSeconds { response.headers[.retryAfter] = String(max(retryAfterSeconds, 1)) }
        return response
    }

    static func jsonResponse(status: HTTPResponse.Status, body: Any) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: JSONText.serialize(body))))
    }

    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    static let notFound = APIError(.notFound, "not_found", "no such resource")
    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }
}

/// Turns every error into the JSON error shape: ours as they are, Hummingbird's by status, a store
/// that cannot be used now (a full disk, a lock held too long) as 503 `storage_unavailable` with
/// `Retry-After`, logged once a minute and counted; anything else (a bug, never bad input) as a 500
/// whose detail goes to the log by type name only.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics
    let storageLog: ThrottledLog

    init(metrics: APIMetrics, storageLog: ThrottledLog = ThrottledLog()) {
        self.metrics = metrics
        self.storageLog = storageLog
    }

    static var storageUnavailable: APIError {
        APIError(.serviceUnavailable, "storage_unavailable", "the service cannot store data right now; try again shortly", retryAfterSeconds: 30)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error where StorageAvailability.isUnavailable(error) {
            let reason = StorageAvailability.reason(error)
            metrics.storageUnavailable(reason: reason)
            if let suppressed = storageLog.admit(reason) {
                context.logger.error("storage unavailable; answering 503", metadata: ["reason": "\(reason)", "suppressed_since_last": "\(suppressed)"])
            }
            return try Self.storageUnavailable.response(from: request, context: context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let (code, message): (String, String) = switch error.status {
            case .notFound: ("not_found", "no such resource")
            case .methodNotAllowed: ("method_not_allowed", "this resource does not take that method")
            case .contentTooLarge: ("body_too_large", "the request body is larger than 64 KB")
            case .badRequest: ("bad_request", "the request is malformed")
            default: ("http_\(error.status.code)", error.status.reasonPhrase)
            }
            return APIError.jsonResponse(status: error.status, body: ["error": ["code": code, "message": message]])
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(describing: type(of: error)))"])
            return APIError.jsonResponse(status: .internalServerError, body: ["error": ["code": "internal", "message": "something went wrong on our side"]])
        }
    }
}
