public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// The admin page's reads of one site and its schedule switch, on PostgreSQL (`SiteAdministrationStorage`;
/// the same answers as `SiteAdministrationStore` on SQLite).
public struct PostgresSiteAdministrationStore: SiteAdministrationStorage {
    public let database: PostgresReportsDatabase

    public init(database: PostgresReportsDatabase) { self.database = database }

    public func reports(installationId: String) async throws -> [SiteReport] {
        let logger = database.logger
        return try await database.withConnection { connection in
            let reports = try await connection.checkedQuery(
                "SELECT \(unescaped: ReportRow.columns) FROM reports WHERE installation_id = \(installationId)",
                logger: logger
            ).collect().map(ReportRow.decode)
            // Each report's latest run through `runs_by_report`, one lookup per report.
            let latest = try await connection.checkedQuery(
                """
                SELECT reports.id, latest.status, latest.error_code, latest.queued_at FROM reports
                JOIN LATERAL (SELECT status, error_code, queued_at FROM runs WHERE runs.report_id = reports.id
                    ORDER BY queued_at DESC LIMIT 1) AS latest ON true
                WHERE reports.installation_id = \(installationId)
                """, logger: logger
            ).collect().reduce(into: [String: SiteReport.LatestRun]()) { runs, row in
                let (id, status, code, queuedAt) = try row.decode((String, String, String?, Int64).self)
                guard let status = ReportRun.Status(rawValue: status) else { return }
                runs[id] = SiteReport.LatestRun(
                    status: status, errorCode: code, queuedAt: Timestamp.date(milliseconds: queuedAt))
            }
            return reports.map { SiteReport(report: $0, latestRun: latest[$0.id]) }
        }
    }

    public func connections(installationId: String) async throws -> [String: MicrosoftConnection.Status] {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                "SELECT account_id, status FROM microsoft_connections WHERE installation_id = \(installationId)",
                logger: logger
            ).collect().reduce(into: [:]) { connections, row in
                let (account, status) = try row.decode((String, String).self)
                connections[account] = MicrosoftConnection.Status(rawValue: status) ?? .reconnectRequired
            }
        }
    }

    public func runTallies(installationId: String, since: Date, recentSince: Date) async throws -> [RunTally] {
        let (logger, since, recent) = (
            database.logger, Timestamp.milliseconds(since), Timestamp.milliseconds(recentSince)
        )
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT status, CASE WHEN status = 'failed' THEN error_code END, queued_at >= \(recent), count(*)
                FROM runs WHERE installation_id = \(installationId) AND queued_at >= \(since) GROUP BY 1, 2, 3
                """, logger: logger
            ).collect().compactMap { row in
                let (status, code, isRecent, count) = try row.decode((String, String?, Bool, Int64).self)
                return ReportRun.Status(rawValue: status).map {
                    RunTally(status: $0, errorCode: code, recent: isRecent, count: Int(count))
                }
            }
        }
    }

    public func schedulesPausedAt(installationId: String) async throws -> Date? {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                "SELECT schedules_paused_at FROM installations WHERE id = \(installationId)", logger: logger
            ).collect().first?.decode(Int64?.self).map(Timestamp.date(milliseconds:))
        }
    }

    public func setSchedulesPaused(_ paused: Bool, installationId: String, at: Date) async throws -> Date? {
        let (logger, at) = (database.logger, Timestamp.milliseconds(at))
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                UPDATE installations
                SET schedules_paused_at = CASE WHEN \(paused) THEN coalesce(schedules_paused_at, \(at)) END
                WHERE id = \(installationId) RETURNING schedules_paused_at
                """, logger: logger
            ).collect().first?.decode(Int64?.self).map(Timestamp.date(milliseconds:))
        }
    }
}
