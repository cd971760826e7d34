import ReportsSupport

/// What a per-user rate limit counts. Each kind is counted in the `user_requests` record, which belongs
/// to the user, not to what the requests acted on: deleting a report deletes its runs but not the
/// requests that made them, so deleting and recreating reports cannot reset a count.
public enum UserRequestKind: String, Sendable, CaseIterable {
    /// A Run now that queued a run (joining a run that already waits is free).
    case runNow = "run_now"
    /// A report create, update or delete.
    case reportWrite = "report_write"
}

/// A per-user limit over a sliding minute. The rule is here; each backend stores and reads the record
/// (the newest requests inside the window, and one more) in the transaction that does the work.
public struct UserRateLimit: Sendable, Equatable {
    public let kind: UserRequestKind
    public let perMinute: Int
    /// The window, in milliseconds.
    public static let window: Int64 = 60_000

    public init(_ kind: UserRequestKind, perMinute: Int) {
        self.kind = kind
        self.perMinute = perMinute
    }

    /// Requests older than this (epoch milliseconds) no longer count.
    public func windowStart(now: Int64) -> Int64 { now - Self.window }

    /// How long until one more request fits, given the times of the owner's newest requests inside the
    /// window (at most `perMinute` of them, in any order); nil when it fits now.
    func wait(recent: [Int64], now: Int64) -> Duration? {
        guard recent.count >= perMinute, let oldest = recent.sorted().suffix(perMinute).first else { return nil }
        return .milliseconds(max(oldest + Self.window - now, 1))
    }

    /// Admits one request or throws `UserRateLimitExceeded`.
    public func admit(recent: [Int64], now: Int64) throws(UserRateLimitExceeded) {
        if let wait = wait(recent: recent, now: now) {
            throw UserRateLimitExceeded(kind: kind, perMinute: perMinute, retryAfter: wait)
        }
    }
}

/// A request refused by a per-user rate limit; the next fits after `retryAfter`.
public struct UserRateLimitExceeded: Error, Sendable, Equatable {
    let kind: UserRequestKind
    public let perMinute: Int
    let retryAfter: Duration

    public init(kind: UserRequestKind, perMinute: Int, retryAfter: Duration) {
        self.kind = kind
        self.perMinute = perMinute
        self.retryAfter = retryAfter
    }

    /// Whole seconds, rounded up, for `Retry-After`.
    public var retryAfterSeconds: Int { retryAfter.wholeSecondsRoundedUp }
}

extension TenantLimits {
    var runNowLimit: UserRateLimit { UserRateLimit(.runNow, perMinute: runNowPerMinute) }
    public var reportWriteLimit: UserRateLimit { UserRateLimit(.reportWrite, perMinute: reportWritesPerMinute) }
}
