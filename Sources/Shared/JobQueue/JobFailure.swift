/// Why an attempt failed, as a handler reports it.
///
/// `code` is a stable machine-readable word; `message` is for operators and users. Neither may hold a
/// token, a secret or any issue or page content: both are stored in the job row and logged.
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

/// Thrown by a handler that cannot proceed yet but has done nothing wrong: the job goes back to the
/// queue, due after `delay`, and the attempt does not count.
public struct JobDeferral: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let delay: Duration
    /// The wait is the fairness key's, not only this job's (the key's request budget at the
    /// destination is spent): the key's other due jobs are moved to the same time, so the lease skips the key.
    public let holdsKey: Bool

    public init(_ code: String, delay: Duration, holdsKey: Bool = false) {
        self.code = code
        self.delay = delay
        self.holdsKey = holdsKey
    }

    public var description: String { "\(code): deferred for \(delay)" }
}

/// Thrown into a handler whose lease was lost: it must stop at once and write nothing more.
public struct LeaseLostError: Error, Sendable, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String { "lease_lost: another worker owns this job now" }
}
