import Foundation
public import Transport

/// An upstream as its failures are reported: the stable codes and the words of each class. Each client
/// module defines its own (`UpstreamService.graph`, `.jira`, …); the classes are the same for all.
public struct UpstreamService: Sendable {
    /// How people call it: "Microsoft Graph", "Jira".
    var name: String
    /// Microsoft: a 401 that survives one token refresh means the user must connect again. Atlassian:
    /// a 401 is the caller's token refused, like a 403.
    var unauthorizedMeansReconnect: Bool
    var forbiddenCode: String
    var forbiddenMessage: String
    var unavailableCode: String
    var rejectedCode: String

    public init(
        name: String, unauthorizedMeansReconnect: Bool, forbiddenCode: String, forbiddenMessage: String,
        unavailableCode: String, rejectedCode: String
    ) {
        self.name = name
        self.unauthorizedMeansReconnect = unauthorizedMeansReconnect
        self.forbiddenCode = forbiddenCode
        self.forbiddenMessage = forbiddenMessage
        self.unavailableCode = unavailableCode
        self.rejectedCode = rejectedCode
    }
}

extension UpstreamError {
    /// The one classification of an upstream's HTTP answer (docs/upstream-notes.md, "How the
    /// classification is used"), used by every client:
    /// - 401: `reconnect_required` for Microsoft (the caller has refreshed once already), else forbidden;
    /// - 403: forbidden, rejected (the caller's token or rights, not an outage);
    /// - 429 and 5xx: transient, with the upstream's `Retry-After` (read once, `OutboundResponse.retryAfter`);
    /// - any other status, 404 and 409 included: rejected (the request cannot succeed as made).
    /// Statuses one endpoint gives its own meaning (400 bad JQL, 404 site gone, 413, 507) are decided by
    /// that client before it calls this. `detail` (the upstream's error word, or the status) goes in the
    /// message in parentheses; it never holds a token or content.
    static func classify(
        status: Int, service: UpstreamService, detail: String? = nil, retryAfter: Duration? = nil
    ) -> UpstreamError {
        let suffix = detail.map { " (\($0))" } ?? ""
        switch status {
        case 401 where service.unauthorizedMeansReconnect:
            return UpstreamError(
                kind: .reconnectRequired, code: "reconnect_required",
                message: "Microsoft refused the access token\(suffix)", status: status)
        case 401, 403:
            return UpstreamError(
                kind: .rejected, code: service.forbiddenCode, message: service.forbiddenMessage + suffix, status: status
            )
        case 429, 500...:
            return UpstreamError(
                kind: .transient, code: service.unavailableCode, message: "\(service.name) is unavailable\(suffix)",
                status: status, retryAfter: retryAfter)
        default:
            return UpstreamError(
                kind: .rejected, code: service.rejectedCode, message: "\(service.name) refused the request\(suffix)",
                status: status)
        }
    }

    /// `classify(status:…)` for a received answer, its `Retry-After` parsed once here.
    public static func classify(_ response: OutboundResponse, service: UpstreamService, detail: String? = nil)
        -> UpstreamError
    {
        classify(status: response.status, service: service, detail: detail, retryAfter: response.retryAfter())
    }
}
