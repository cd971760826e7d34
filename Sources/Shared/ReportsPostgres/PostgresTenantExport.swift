public import Foundation
import Logging
import PostgresNIO
public import PostgresStorage
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
            let reports = try await connection.checkedQuery(
                """
                SELECT id, owner_account_id, name, jql, filter_id, columns, section_id, page_url, schedule_cron,
                    schedule_time_zone, enabled, next_run_at, created_at, updated_at
                FROM reports WHERE installation_id = \(id) AND (\(account)::text IS NULL OR owner_account_id = \(account))
                ORDER BY created_at, id
                """, logger: logger
            ).collect().map {
                try $0.decode(
                    (
                        String, String, String, String?, String?, String, String, String?, String?, String?, Bool,
                        Int64?, Int64, Int64
                    ).self)
            }
            let runs = try await connection.checkedQuery(
                """
                SELECT runs.id, runs.report_id, runs.trigger, runs.status, runs.queued_at, runs.started_at,
                    runs.finished_at, runs.issue_count, runs.page_url, runs.error_code, runs.error_message
                FROM runs JOIN reports ON reports.id = runs.report_id
                WHERE runs.installation_id = \(id) AND (\(account)::text IS NULL OR reports.owner_account_id = \(account))
                ORDER BY runs.queued_at, runs.id
                """, logger: logger
            ).collect().map {
                try $0.decode(
                    (String, String, String, String, Int64, Int64?, Int64?, Int?, String?, String?, String?).self)
            }
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
                reports: try reports.map {
                    .init(
                        id: $0.0, ownerAccountId: $0.1, name: $0.2, jql: $0.3, filterId: $0.4,
                        columns: try TenantExportColumns.decode($0.5), sectionId: $0.6, pageUrl: $0.7,
                        scheduleCron: $0.8, scheduleTimeZone: $0.9, enabled: $0.10, nextRunAt: $0.11.map(date),
                        createdAt: date($0.12), updatedAt: date($0.13))
                },
                runs: runs.map {
                    .init(
                        id: $0.0, reportId: $0.1, trigger: $0.2, status: $0.3, queuedAt: date($0.4),
                        startedAt: $0.5.map(date), finishedAt: $0.6.map(date), issueCount: $0.7, pageUrl: $0.8,
                        errorCode: $0.9, errorMessage: $0.10)
                })
        }
    }
}
