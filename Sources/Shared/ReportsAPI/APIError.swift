import Foundation
import HTTPTypes
import Hummingbird

/// The stable machine-readable codes of the API's error answers (docs/openapi.yaml, `Error.code`).
/// Codes of upstream refusals, report validation and body decoding pass through from the layer that
/// knows them (`UpstreamError.code`, `ReportValidationError.code`, `BodyDecodingError.code`).
struct APIErrorCode: RawRepresentable, Hashable, Sendable {
    let rawValue: String

    static let unauthorized = APIErrorCode(rawValue: "unauthorized")
    static let userRequired = APIErrorCode(rawValue: "user_required")
    static let notFound = APIErrorCode(rawValue: "not_found")
    static let methodNotAllowed = APIErrorCode(rawValue: "method_not_allowed")
    static let badRequest = APIErrorCode(rawValue: "bad_request")
    static let invalidParameter = APIErrorCode(rawValue: "invalid_parameter")
    static let unsupportedMediaType = APIErrorCode(rawValue: "unsupported_media_type")
    static let bodyTooLarge = APIErrorCode(rawValue: "body_too_large")
    static let runNowRateLimited = APIErrorCode(rawValue: "run_now_rate_limited")
    static let reportWritesRateLimited = APIErrorCode(rawValue: "report_writes_rate_limited")
    static let microsoftNotConnected = APIErrorCode(rawValue: "microsoft_not_connected")
    static let reconnectRequired = APIErrorCode(rawValue: "reconnect_required")
    static let userTokenRequired = APIErrorCode(rawValue: "user_token_required")
    static let adminPageOnly = APIErrorCode(rawValue: "admin_page_only")
    static let jiraAdminRequired = APIErrorCode(rawValue: "jira_admin_required")
    static let storageUnavailable = APIErrorCode(rawValue: "storage_unavailable")
    static let databaseUnavailable = APIErrorCode(rawValue: "database_unavailable")
    static let `internal` = APIErrorCode(rawValue: "internal")
}

/// An error answer: status, stable code, a message for people (never a token or content), and
/// `Retry-After` when waiting helps.
struct APIError: HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let code: APIErrorCode
    let message: String
    let retryAfterSeconds: Int?

    init(_ status: HTTPResponse.Status, _ code: APIErrorCode, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A code that passes through from the layer that made it.
    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfterSeconds: Int? = nil) {
        self.init(status, APIErrorCode(rawValue: code), message, retryAfterSeconds: retryAfterSeconds)
    }

    var description: String { "\(status.code) \(code.rawValue): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try APIResponseEncoder.response(status, ErrorResponse(code: code, message: message))
        if let retryAfterSeconds { response.headers[.retryAfter] = String(max(retryAfterSeconds, 1)) }
        return response
    }

    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, .unauthorized, message) }
    static let notFound = APIError(.notFound, .notFound, "no such resource")
    static func badRequest(_ code: APIErrorCode, _ message: String) -> APIError { APIError(.badRequest, code, message) }
}
