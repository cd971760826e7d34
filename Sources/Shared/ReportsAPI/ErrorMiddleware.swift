import HTTPTypes
import Hummingbird
import Logging
import Reports
import ReportsSupport

/// Turns every error into the JSON error shape: ours as they are, Hummingbird's by status, a store
/// that cannot be used now (a full disk, a lock held too long) as 503 `storage_unavailable` with
/// `Retry-After`, logged once a minute and counted; anything else (a bug, never bad input) as a 500
/// whose detail goes to the log by type name only.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics
    /// Tells a store that cannot be used now from a bug.
    let storage: any StorageReadings
    let storageLog: ThrottledLog

    init(metrics: APIMetrics, storage: any StorageReadings, storageLog: ThrottledLog = ThrottledLog()) {
        self.metrics = metrics
        self.storage = storage
        self.storageLog = storageLog
    }

    static var storageUnavailable: APIError {
        APIError(
            .serviceUnavailable, .storageUnavailable, "the service cannot store data right now; try again shortly",
            retryAfterSeconds: 30)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error where storage.unavailableReason(error) != nil {
            let reason = storage.unavailableReason(error) ?? "unavailable"
            metrics.storageUnavailable(reason: reason)
            if let suppressed = storageLog.admit(reason) {
                context.logger.error(
                    "storage unavailable; answering 503",
                    metadata: ["reason": "\(reason)", "suppressed_since_last": "\(suppressed)"])
            }
            return try Self.storageUnavailable.response(from: request, context: context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let (code, message): (APIErrorCode, String) =
                switch error.status {
                case .notFound: (.notFound, "no such resource")
                case .methodNotAllowed: (.methodNotAllowed, "this resource does not take that method")
                case .contentTooLarge: (.bodyTooLarge, "the request body is larger than 64 KB")
                case .badRequest: (.badRequest, "the request is malformed")
                default: (APIErrorCode(rawValue: "http_\(error.status.code)"), error.status.reasonPhrase)
                }
            return try APIError(error.status, code, message).response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(describing: type(of: error)))"])
            return try APIError(.internalServerError, .internal, "something went wrong on our side").response(
                from: request, context: context)
        }
    }
}
