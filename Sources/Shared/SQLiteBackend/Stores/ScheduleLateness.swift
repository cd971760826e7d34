public import Foundation
import GRDB
public import Reports
import ReportsSupport

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
        return ScheduleLateness(
            window: window, enqueuedDelays: rows.compactMap(\.enqueued), startedDelays: rows.compactMap(\.started))
    }
}
