public import Foundation
import PostgresNIO
public import Reports
import ReportsSupport

/// Health, schedule lateness and "storage unavailable" for the PostgreSQL backend.
public struct PostgresStorageReadings: StorageReadings {
    public let database: PostgresReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: PostgresReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func isReadable() async -> Bool { await database.isReachable() }

    /// The scheduled runs queued in the last `window` (the `runs_scheduled_recently` partial index holds
    /// scheduled runs only).
    public func scheduleLateness(window: Duration) async throws -> ScheduleLateness {
        let since = Timestamp.milliseconds(now()) - window.wholeMilliseconds
        let logger = database.logger
        let rows = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT queued_at - slot_at, started_at - slot_at FROM runs
                WHERE slot_at IS NOT NULL AND queued_at >= \(since)
                """, logger: logger
            ).collect().map { try $0.decode((Int64, Int64?).self) }
        }
        return ScheduleLateness(
            window: window, enqueuedDelays: rows.map(\.0), startedDelays: rows.compactMap(\.1))
    }

    public func scheduleLateness() async throws -> ScheduleLateness {
        try await scheduleLateness(window: .seconds(3600))
    }

    public func unavailableReason(_ error: any Error) -> String? { PostgresAvailability.reason(error) }
}
