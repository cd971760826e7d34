public import Foundation
import GRDB
public import Reports
import ReportsSupport
public import SQLiteStorage

extension ScheduleLateness {
    /// Reads the scheduled runs queued in the last `window`. The `runs_scheduled_recently` index holds
    /// scheduled runs only, so this reads the window's rows and nothing else.
    public static func measure(_ database: ReportsDatabase, window: Duration = .seconds(3600), now: Date = Date())
        async throws -> ScheduleLateness
    {
        let since = Timestamp.milliseconds(now) - window.wholeMilliseconds
        // Sendable values out of the closure, so the async read is used: with `[Row]` the compiler picked
        // the blocking overload, which held a cooperative thread for every /metrics scrape.
        let rows: [(enqueued: Int64?, started: Int64?)] = try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT queued_at - slot_at, started_at - slot_at FROM runs INDEXED BY runs_scheduled_recently
                    WHERE slot_at IS NOT NULL AND queued_at >= ?
                    """, arguments: [since]
            ).map { ($0[0], $0[1]) }
        }
        var lateness = ScheduleLateness(windowSeconds: Double(window.wholeMilliseconds) / 1000)
        lateness.enqueued = Self.stage(rows.compactMap(\.enqueued))
        lateness.started = Self.stage(rows.compactMap(\.started))
        return lateness
    }

    private static func stage(_ milliseconds: [Int64]) -> Stage {
        guard !milliseconds.isEmpty else { return Stage() }
        let sorted = milliseconds.map { Double(max($0, 0)) / 1000 }.sorted()
        let index = min(Int((Double(sorted.count) * 0.95).rounded(.up)) - 1, sorted.count - 1)
        return Stage(runs: sorted.count, p95Seconds: sorted[max(index, 0)], maxSeconds: sorted[sorted.count - 1])
    }
}
