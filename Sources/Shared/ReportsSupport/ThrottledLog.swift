import Synchronization

/// Lets a message through once per `interval` per key, so a full disk is logged once a minute, not
/// once per request; the suppressed count goes with the next line.
public final class ThrottledLog: Sendable {
    private let interval: Duration
    private let state = Mutex<[String: (last: ContinuousClock.Instant, suppressed: Int)]>([:])

    public init(interval: Duration = .seconds(60)) { self.interval = interval }

    /// nil: stay quiet; else the number of occurrences suppressed since the last line.
    public func admit(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { entries in
            if let entry = entries[key], now - entry.last < interval {
                entries[key] = (entry.last, entry.suppressed + 1)
                return nil
            }
            let suppressed = entries[key]?.suppressed ?? 0
            entries[key] = (now, 0)
            return suppressed
        }
    }
}
