import SecurityTesting
import Testing

@testable import JobQueue
@testable import ReportsSupport

@Suite("Retry backoff")
struct RetryStrategyTests {
    @Test func backoffGrowsExponentiallyWithinJitterAndNeverPassesTheCap() {
        let strategy = JobRetryStrategy.exponentialJitter(base: .seconds(1), maxBackoff: .seconds(300), jitter: 0.25)
        var generator = SplitMix64(state: 42)
        for attempt in 1...40 {
            let nominal = min(Double(1 << min(attempt - 1, 20)), 300)
            var seen: [Double] = []
            for _ in 0..<200 {
                let delay = strategy.delay(afterAttempt: attempt, retryAfter: nil, using: &generator).timeInterval
                #expect(delay >= nominal * 0.75 - 0.001)
                #expect(delay <= min(nominal * 1.25, 300) + 0.001)
                seen.append(delay)
            }
            if nominal < 240 {
                // Jitter really spreads retries out.
                #expect(seen.max()! - seen.min()! > nominal * 0.2)
            }
        }
    }

    @Test func retryAfterWinsOnlyWhenLonger() {
        let strategy = JobRetryStrategy.exponentialJitter(base: .seconds(5), maxBackoff: .seconds(30), jitter: 0)
        #expect(strategy.delay(afterAttempt: 1, retryAfter: .seconds(120)) == .seconds(120))
        #expect(strategy.delay(afterAttempt: 1, retryAfter: .seconds(1)) == .seconds(5))
        #expect(strategy.delay(afterAttempt: 3, retryAfter: nil) == .seconds(20))
        #expect(strategy.delay(afterAttempt: 99, retryAfter: nil) == .seconds(30))
    }
}
