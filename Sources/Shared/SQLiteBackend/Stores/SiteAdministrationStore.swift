public import Foundation
import GRDB
public import Reports
import ReportsSupport

/// The admin page's reads of one site and its schedule switch, on SQLite (`SiteAdministrationStorage`).
public struct SiteAdministrationStore: SiteAdministrationStorage {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) { self.database = database }

    public func reports(installationId: String) async throws -> [SiteReport] {
        try await database.pool.read { db in
            // Each report's latest run through `runs_by_report`, one lookup per report.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT reports.*, latest.status AS latest_status, latest.error_code AS latest_error_code,
                        latest.queued_at AS latest_queued_at
                    FROM reports LEFT JOIN runs AS latest ON latest.id = (
                        SELECT id FROM runs WHERE runs.report_id = reports.id ORDER BY queued_at DESC LIMIT 1)
                    WHERE reports.installation_id = ?
                    """, arguments: [installationId]
            ).map { row in
                let latest = (row["latest_status"] as String?).flatMap(ReportRun.Status.init(rawValue:)).map {
                    SiteReport.LatestRun(
                        status: $0, errorCode: row["latest_error_code"],
                        queuedAt: Timestamp.date(milliseconds: row["latest_queued_at"]))
                }
                return SiteReport(report: try Report(row: row), latestRun: latest)
            }
        }
    }

    public func connections(installationId: String) async throws -> [String: MicrosoftConnection.Status] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT account_id, status FROM microsoft_connections WHERE installation_id = ?",
                arguments: [installationId]
            ).reduce(into: [:]) { $0[$1[0]] = MicrosoftConnection.Status(rawValue: $1[1]) ?? .reconnectRequired }
        }
    }

    public func runTallies(installationId: String, since: Date, recentSince: Date) async throws -> [RunTally] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT status, CASE WHEN status = 'failed' THEN error_code END, queued_at >= ?, count(*)
                    FROM runs WHERE installation_id = ? AND queued_at >= ? GROUP BY 1, 2, 3
                    """,
                arguments: [Timestamp.milliseconds(recentSince), installationId, Timestamp.milliseconds(since)]
            ).compactMap { row in
                ReportRun.Status(rawValue: row[0]).map {
                    RunTally(status: $0, errorCode: row[1], recent: row[2], count: row[3])
                }
            }
        }
    }

    public func schedulesPausedAt(installationId: String) async throws -> Date? {
        try await database.pool.read { db in
            try Int64.fetchOne(
                db, sql: "SELECT schedules_paused_at FROM installations WHERE id = ?", arguments: [installationId]
            ).map(Timestamp.date(milliseconds:))
        }
    }

    public func setSchedulesPaused(_ paused: Bool, installationId: String, at: Date) async throws -> Date? {
        try await database.pool.write { db in
            try Int64.fetchOne(
                db,
                sql: """
                    UPDATE installations
                    SET schedules_paused_at = CASE WHEN ? THEN coalesce(schedules_paused_at, ?) END
                    WHERE id = ? RETURNING schedules_paused_at
                    """, arguments: [paused, Timestamp.milliseconds(at), installationId]
            ).map(Timestamp.date(milliseconds:))
        }
    }
}
