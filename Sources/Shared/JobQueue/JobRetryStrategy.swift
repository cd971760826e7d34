import Foundation
import ReportsSupport

/// How long a job waits before its next attempt after a retryable failure.
///
/// `exponentialJitter` (swift-jobs' vocabulary): `base × 2^(attempt-1)`, capped at `maxBackoff`, then
/// multiplied by a random factor in `1 ± jitter` and capped again, so retries of many jobs that failed
/// together spread out instead of stampeding the upstream. An upstream `Retry-After` wins when longer.
public struct JobRetryStrategy: Sendable {
    let base: Duration
    let maxBackoff: Duration
    let jitter: Double

    public static func exponentialJitter(
        base: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(300),
        jitter: Double = 0.25
    ) -> JobRetryStrategy {
        JobRetryStrategy(base: base, maxBackoff: maxBackoff, jitter: min(max(jitter, 0), 1))
    }

    /// The wait before the attempt after `attempt` (1-based), given the failure's `Retry-After`.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }

    public func delay<G: RandomNumberGenerator>(
        afterAttempt attempt: Int, retryAfter: Duration?, using generator: inout G
    ) -> Duration {
        let exponent = Double(min(max(attempt, 1) - 1, 62))
        let cap = maxBackoff.timeInterval
        let raw = min(base.timeInterval * pow(2, exponent), cap)
        let factor = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
        let backoff = Duration.milliseconds(Int64((min(raw * factor, cap) * 1000).rounded()))
        if let retryAfter, retryAfter > backoff { return retryAfter }
        return backoff
    }

}
