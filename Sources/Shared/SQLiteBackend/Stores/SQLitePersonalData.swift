public import Foundation
import GRDB
public import Reports
import ReportsSupport

/// Personal data reporting's reads and writes on SQLite (AccountReportingService).
public struct SQLitePersonalData: PersonalDataStore {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) {
        self.database = database
    }

    public func claimAccountReports(now: Date, lease: Duration, limit: Int) async throws -> [String] {
        let (nowMs, until) = (Timestamp.milliseconds(now), Timestamp.milliseconds(now + lease.timeInterval))
        return try await database.pool.write { db in
            try String.fetchAll(
                db,
                sql: """
                    UPDATE installations SET accounts_report_at = ? WHERE id IN (
                        SELECT id FROM installations WHERE coalesce(accounts_report_at, 0) <= ?
                        ORDER BY coalesce(accounts_report_at, 0) LIMIT ?)
                    RETURNING id
                    """, arguments: [until, nowMs, limit])
        }
    }

    public func storedAccounts(installationId: String) async throws -> [StoredAccount] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT account_id, max(at) AS at FROM (
                        SELECT owner_account_id AS account_id, updated_at AS at FROM reports WHERE installation_id = ?
                        UNION ALL
                        SELECT account_id, connected_at FROM microsoft_connections WHERE installation_id = ?
                        UNION ALL
                        SELECT account_id, expires_at - 600000 FROM oauth_pending_connections WHERE installation_id = ?)
                    GROUP BY account_id ORDER BY account_id
                    """, arguments: [installationId, installationId, installationId]
            ).map { row in
                StoredAccount(accountId: row["account_id"], updatedAt: Timestamp.date(milliseconds: row["at"]))
            }
        }
    }

    public func scheduleAccountReport(installationId: String, at: Date) async throws {
        try await database.pool.write { db in
            try db.execute(
                sql: "UPDATE installations SET accounts_report_at = ? WHERE id = ?",
                arguments: [Timestamp.milliseconds(at), installationId])
        }
    }

    public func eraseAccount(installationId: String, accountId: String) async throws -> ErasedRows {
        try await database.pool.write { db in
            var erasure = ErasedRows(installationId: installationId)
            let owner: StatementArguments = [installationId, accountId]
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: owner) ?? 0 }
            erasure.reports = try count(
                "SELECT count(*) FROM reports WHERE installation_id = ? AND owner_account_id = ?")
            erasure.runs = try count(
                """
                SELECT count(*) FROM runs WHERE report_id IN (
                    SELECT id FROM reports WHERE installation_id = ? AND owner_account_id = ?)
                """)
            // The owner's jobs name the site and the account in the payload; a running one's worker loses
            // its lease.
            try db.execute(
                sql: """
                    DELETE FROM jobs WHERE kind = 'run-report' AND json_extract(payload, '$.installationId') = ?
                        AND json_extract(payload, '$.ownerAccountId') = ?
                    """, arguments: owner)
            erasure.jobs = db.changesCount
            try db.execute(
                sql: "DELETE FROM reports WHERE installation_id = ? AND owner_account_id = ?", arguments: owner)
            try db.execute(
                sql: "DELETE FROM microsoft_connections WHERE installation_id = ? AND account_id = ?", arguments: owner)
            erasure.microsoftConnections = db.changesCount
            try db.execute(
                sql: "DELETE FROM oauth_pending_connections WHERE installation_id = ? AND account_id = ?",
                arguments: owner)
            erasure.pendingConnections = db.changesCount
            for table in ["user_requests", "connect_labels"] {
                try db.execute(
                    sql: "DELETE FROM \(table) WHERE installation_id = ? AND account_id = ?", arguments: owner)
            }
            return erasure
        }
    }
}
