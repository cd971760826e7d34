public import Foundation
import GRDB
public import Reports
import ReportsSupport

/// `enqueuer tenant export` on SQLite: one read transaction, so the document is one moment's truth.
/// A nil account exports the whole site; an account, only the rows that are that person's.
public struct SQLiteTenantExport: TenantDataExporting {
    public let database: ReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func export(installationId: String, accountId: String?) async throws -> TenantExport {
        let exportedAt = now()
        return try await database.pool.read { db in
            try Self.read(db, installationId: installationId, accountId: accountId, exportedAt: exportedAt)
        }
    }

    private static func read(_ db: Database, installationId: String, accountId: String?, exportedAt: Date) throws
        -> TenantExport
    {
        let scope: StatementArguments = [installationId, accountId, accountId]
        let date = { (milliseconds: Int64) in Timestamp.date(milliseconds: milliseconds) }
        let installation = try Row.fetchOne(
            db,
            sql: """
                SELECT id, cloud_id, site_url, api_base_url, first_seen_at, last_seen_at,
                    system_token_ciphertext IS NOT NULL AS has_token
                FROM installations WHERE id = ?
                """, arguments: [installationId]
        ).map { row in
            TenantExport.Installation(
                id: row["id"], cloudId: row["cloud_id"], siteUrl: row["site_url"], apiBaseUrl: row["api_base_url"],
                firstSeenAt: date(row["first_seen_at"]), lastSeenAt: date(row["last_seen_at"]),
                systemTokenStored: row["has_token"])
        }
        let connections = try Row.fetchAll(
            db,
            sql: """
                SELECT account_id, microsoft_user_id, display_name, status, connected_at, refreshed_at
                FROM microsoft_connections WHERE installation_id = ? AND (? IS NULL OR account_id = ?)
                ORDER BY account_id
                """, arguments: scope
        ).map { row in
            TenantExport.Connection(
                accountId: row["account_id"], microsoftUserId: row["microsoft_user_id"],
                displayName: row["display_name"], status: row["status"], connectedAt: date(row["connected_at"]),
                refreshedAt: (row["refreshed_at"] as Int64?).map(date), refreshTokenStored: true)
        }
        let pending = try Row.fetchAll(
            db,
            sql: """
                SELECT account_id, microsoft_user_id, display_name, microsoft_account, expires_at
                FROM oauth_pending_connections WHERE installation_id = ? AND (? IS NULL OR account_id = ?)
                ORDER BY account_id, expires_at
                """, arguments: scope
        ).map { row in
            TenantExport.PendingConnection(
                accountId: row["account_id"], microsoftUserId: row["microsoft_user_id"],
                displayName: row["display_name"], microsoftAccount: row["microsoft_account"],
                expiresAt: date(row["expires_at"]))
        }
        // The rows as the stores read them (ReportRecords.swift), turned into the document's shape.
        var snapshots: [String: Data] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT report_snapshots.report_id, report_snapshots.body FROM report_snapshots
                JOIN reports ON reports.id = report_snapshots.report_id
                WHERE reports.installation_id = ? AND (? IS NULL OR reports.owner_account_id = ?)
                """, arguments: scope)
        {
            snapshots[row[0]] = row[1]
        }
        let reports = try Report.fetchAll(
            db,
            sql:
                "SELECT * FROM reports WHERE installation_id = ? AND (? IS NULL OR owner_account_id = ?) ORDER BY created_at, id",
            arguments: scope
        ).map { TenantExport.ExportedReport($0, snapshot: snapshots[$0.id]) }
        let runs = try ReportRun.fetchAll(
            db,
            sql: """
                SELECT runs.* FROM runs JOIN reports ON reports.id = runs.report_id
                WHERE runs.installation_id = ? AND (? IS NULL OR reports.owner_account_id = ?)
                ORDER BY runs.queued_at, runs.id
                """, arguments: scope
        ).map(TenantExport.ExportedRun.init)
        return TenantExport(
            exportedAt: exportedAt, installationId: installationId, accountId: accountId, installation: installation,
            microsoftConnections: connections, pendingMicrosoftConnections: pending, reports: reports, runs: runs)
    }
}
