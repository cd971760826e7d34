/// An upstream call failed. `kind` says what to do about it (docs/microsoft-apis.md §1.10); `code` is stable and
/// user-facing; the message never holds a token or content, only the upstream's error word and status.
public struct UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The user must connect again (refresh token revoked or expired, consent withdrawn).
        case reconnectRequired
        /// Our app's registration or credentials are wrong: alert operators, do not blame the user.
        case appMisconfigured
        /// Try again later.
        case transient
        /// The request cannot succeed as made (bad input, not found, forbidden).
        case rejected
        /// Our own per-user budget for the upstream (its request limits, counted across every process)
        /// refused before anything was sent: wait for it without counting it as a failure. `code`
        /// says which budget and why.
        case budgetSpent
        /// The upstream has not settled yet (a page we may have created is not listed yet):
        /// nothing is wrong; ask again after `retryAfter`. The run-report handler turns it into a job
        /// deferral, so the attempt does not count; the clients know nothing of jobs.
        case notYet
    }

    public let kind: Kind
    public let code: String
    public let message: String
    public let status: Int?
    public let retryAfter: Duration?

    public init(kind: Kind, code: String, message: String, status: Int? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }
}
