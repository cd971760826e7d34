/// Why an attempt failed, as a handler reports it.
///
/// `code` is a stable machine-readable word; `message` is for operators and users. Neither may hold a
/// token, a secret or any Jira or OneNote content: both are stored in the job row and logged.
public struct JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    /// Retryable failures go back to the queue with backoff; permanent ones are discarded at once.
    public let isRetryable: Bool
    /// The upstream's `Retry-After`, when it gave one; used when longer than the backoff.
    public let retryAfter: Duration?

    public static func retryable(_ code: String, _ message: String, retryAfter: Duration? = nil) -> JobFailure {
        JobFailure(code: code, message: message, isRetryable: true, retryAfter: retryAfter)
    }

    public static func permanent(_ code: String, _ message: String) -> JobFailure {
        JobFailure(code: code, message: message, isRetryable: false, retryAfter: nil)
    }

    public var description: String { "\(code): \(message)" }
}
