public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// `enqueuer tenant export` on PostgreSQL: the same document as SQLite's (SQLiteTenantExport), read in
/// one REPEATABLE READ transaction so every part is the same moment's.
public struct PostgresTenantExport: TenantDataExporting {
    public let database: PostgresReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: PostgresReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func export(installationId: String, accountId: String?) async throws -> TenantExport {
        let (logger, exportedAt, id, account) = (database.logger, now(), installationId, accountId)
        let date = { (milliseconds: Int64) in Timestamp.date(milliseconds: milliseconds) }
        return try await database.withTransaction { connection in
            _ = try await connection.checkedQuery(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            let installation = try await connection.checkedQuery(
                """
                SELECT id, cloud_id, site_url, api_base_url, first_seen_at, last_seen_at,
                    system_token_ciphertext IS NOT NULL
                FROM installations WHERE id = \(id)
                """, logger: logger
            ).collect().first?.decode((String, String, String?, String, Int64, Int64, Bool).self)
            let connections = try await connection.checkedQuery(
                """
                SELECT account_id, microsoft_user_id, display_name, status, connected_at, refreshed_at
                FROM microsoft_connections WHERE installation_id = \(id) AND (\(account)::text IS NULL OR account_id = \(account))
                ORDER BY account_id
                """, logger: logger
            ).collect().map { try $0.decode((String, String, String, String, Int64, Int64?).self) }
            let pending = try await connection.checkedQuery(
                """
                SELECT account_id, microsoft_user_id, display_name, microsoft_account, expires_at
                FROM oauth_pending_connections
                WHERE installation_id = \(id) AND (\(account)::text IS NULL OR account_id = \(account))
                ORDER BY account_id, expires_at
                """, logger: logger
            ).collect().map { try $0.decode((String, String, String, String, Int64).self) }
            // The rows as the stores read them (PostgresRows.swift), turned into the document's shape.
            let reports = try await connection.checkedQuery(
                """
                SELECT \(unescaped: ReportRow.columns) FROM reports
                WHERE installation_id = \(id) AND (\(account)::text IS NULL OR owner_account_id = \(account))
                ORDER BY created_at, id
                """, logger: logger
            ).collect().map(ReportRow.decode)
            var snapshots: [String: Data] = [:]
            for row in try await connection.checkedQuery(
                """
                SELECT report_snapshots.report_id, encode(report_snapshots.body, 'base64') FROM report_snapshots
                JOIN reports ON reports.id = report_snapshots.report_id
                WHERE reports.installation_id = \(id)
                    AND (\(account)::text IS NULL OR reports.owner_account_id = \(account))
                """, logger: logger
            ).collect() {
                let (reportId, body) = try row.decode((String, String).self)
                snapshots[reportId] = Data(base64Encoded: body, options: .ignoreUnknownCharacters)
            }
            let runs = try await connection.checkedQuery(
                """
                SELECT \(unescaped: RunRow.columns) FROM runs JOIN reports ON reports.id = runs.report_id
                LEFT JOIN jobs ON jobs.id = runs.job_id
                WHERE runs.installation_id = \(id) AND (\(account)::text IS NULL OR reports.owner_account_id = \(account))
                ORDER BY runs.queued_at, runs.id
                """, logger: logger
            ).collect().map(RunRow.decode)
            return TenantExport(
                exportedAt: exportedAt, installationId: id, accountId: account,
                installation: installation.map {
                    .init(
                        id: $0.0, cloudId: $0.1, siteUrl: $0.2, apiBaseUrl: $0.3, firstSeenAt: date($0.4),
                        lastSeenAt: date($0.5), systemTokenStored: $0.6)
                },
                microsoftConnections: connections.map {
                    .init(
                        accountId: $0.0, microsoftUserId: $0.1, displayName: $0.2, status: $0.3,
                        connectedAt: date($0.4), refreshedAt: $0.5.map(date), refreshTokenStored: true)
                },
                pendingMicrosoftConnections: pending.map {
                    .init(
                        accountId: $0.0, microsoftUserId: $0.1, displayName: $0.2, microsoftAccount: $0.3,
                        expiresAt: date($0.4))
                },
                reports: reports.map { TenantExport.ExportedReport($0, snapshot: snapshots[$0.id]) },
                runs: runs.map(TenantExport.ExportedRun.init))
        }
    }
}
