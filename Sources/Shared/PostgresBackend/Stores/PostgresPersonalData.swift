public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// Personal data reporting's reads and writes on PostgreSQL: the same rules as SQLitePersonalData's.
public struct PostgresPersonalData: PersonalDataStore {
    public let database: PostgresReportsDatabase

    public init(database: PostgresReportsDatabase) {
        self.database = database
    }

    public func claimAccountReports(now: Date, lease: Duration, limit: Int) async throws -> [String] {
        let (nowMs, until) = (Timestamp.milliseconds(now), Timestamp.milliseconds(now + lease.timeInterval))
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                UPDATE installations SET accounts_report_at = \(until) WHERE id IN (
                    SELECT id FROM installations WHERE coalesce(accounts_report_at, 0) <= \(nowMs)
                    ORDER BY coalesce(accounts_report_at, 0) LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, logger: logger
            ).collect().map { try $0.decode(String.self) }
        }
    }

    public func storedAccounts(installationId: String) async throws -> [StoredAccount] {
        let (logger, id) = (database.logger, installationId)
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT account_id, max(at) FROM (
                    SELECT owner_account_id AS account_id, updated_at AS at FROM reports WHERE installation_id = \(id)
                    UNION ALL
                    SELECT account_id, connected_at FROM microsoft_connections WHERE installation_id = \(id)
                    UNION ALL
                    SELECT account_id, expires_at - 600000 FROM oauth_pending_connections WHERE installation_id = \(id)
                ) stored
                GROUP BY account_id ORDER BY account_id
                """, logger: logger
            ).collect().map { row in
                let (account, at) = try row.decode((String, Int64).self)
                return StoredAccount(accountId: account, updatedAt: Timestamp.date(milliseconds: at))
            }
        }
    }

    public func scheduleAccountReport(installationId: String, at: Date) async throws {
        let (logger, id, atMs) = (database.logger, installationId, Timestamp.milliseconds(at))
        _ = try await database.withConnection { connection in
            try await connection.checkedQuery(
                "UPDATE installations SET accounts_report_at = \(atMs) WHERE id = \(id)", logger: logger)
        }
    }

    public func eraseAccount(installationId: String, accountId: String) async throws -> ErasedRows {
        let (logger, id, account) = (database.logger, installationId, accountId)
        return try await database.withTransaction { connection in
            var erasure = ErasedRows(installationId: id)
            let counts =
                try await connection.checkedQuery(
                    """
                    SELECT (SELECT count(*) FROM reports WHERE installation_id = \(id) AND owner_account_id = \(account)),
                        (SELECT count(*) FROM runs WHERE report_id IN (
                            SELECT id FROM reports WHERE installation_id = \(id) AND owner_account_id = \(account)))
                    """, logger: logger
                ).collect().first?.decode((Int, Int).self) ?? (0, 0)
            (erasure.reports, erasure.runs) = counts
            // The owner's jobs name the site and the account in the payload; a running one's worker loses
            // its lease.
            erasure.jobs = try await connection.checkedQuery(
                """
                DELETE FROM jobs WHERE kind = 'run-report' AND payload::jsonb ->> 'installationId' = \(id)
                    AND payload::jsonb ->> 'ownerAccountId' = \(account)
                RETURNING 1
                """, logger: logger
            ).collect().count
            try await connection.checkedQuery(
                "DELETE FROM reports WHERE installation_id = \(id) AND owner_account_id = \(account)", logger: logger)
            erasure.microsoftConnections = try await connection.checkedQuery(
                "DELETE FROM microsoft_connections WHERE installation_id = \(id) AND account_id = \(account) RETURNING 1",
                logger: logger
            ).collect().count
            erasure.pendingConnections = try await connection.checkedQuery(
                """
                DELETE FROM oauth_pending_connections WHERE installation_id = \(id) AND account_id = \(account)
                RETURNING 1
                """, logger: logger
            ).collect().count
            try await connection.checkedQuery(
                "DELETE FROM user_requests WHERE installation_id = \(id) AND account_id = \(account)", logger: logger)
            try await connection.checkedQuery(
                "DELETE FROM connect_labels WHERE installation_id = \(id) AND account_id = \(account)", logger: logger)
            return erasure
        }
    }
}
