import Crypto
public import Foundation
import PostgresNIO
public import Reports
import ReportsSupport
public import Security

/// Microsoft connections waiting for the user's confirmation, on PostgreSQL (the rules of
/// `PendingConnectionStore` on SQLite): parked sealed, only the one-time token's hash stored, taken
/// once by the browser it was parked for; `DELETE … RETURNING` makes the take single-use across hosts.
public struct PostgresPendingConnectionStore: PendingConnections {
    public let database: PostgresReportsDatabase
    public let vault: TokenVault
    private let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.vault = vault
        self.now = now
    }

    public func park(_ pending: PendingConnection, refreshToken: Secret, browser: String) async throws -> Secret {
        let token = Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        let sealed = try vault.seal(
            refreshToken,
            context: .microsoftRefreshToken(
                installationId: pending.owner.installationId, accountId: pending.owner.accountId))
        let (nowMs, logger) = (Timestamp.milliseconds(now()), database.logger)
        let expiresAt = nowMs + PendingConnection.lifetime.wholeMilliseconds
        try await database.withTransaction { connection in
            try await connection.checkedQuery(
                "DELETE FROM oauth_pending_connections WHERE expires_at < \(nowMs)", logger: logger)
            try await connection.checkedQuery(
                """
                INSERT INTO oauth_pending_connections (token_hash, installation_id, account_id, browser,
                    refresh_token_ciphertext, microsoft_user_id, display_name, microsoft_account, expires_at)
                VALUES (\(PendingConnection.tokenHash(token)), \(pending.owner.installationId),
                    \(pending.owner.accountId), \(browser), \(sealed), \(pending.microsoftUserId),
                    \(String(pending.displayName.prefix(200))), \(String(pending.microsoftAccount.prefix(200))),
                    \(expiresAt))
                """, logger: logger)
        }
        return Secret(token)
    }

    public func take(token: String, browser: String, confirm: Bool) async throws -> PendingConnectionOutcome {
        let (nowMs, logger) = (Timestamp.milliseconds(now()), database.logger)
        return try await database.withTransaction { connection -> PendingConnectionOutcome in
            guard
                let row = try await connection.checkedQuery(
                    """
                    DELETE FROM oauth_pending_connections
                    WHERE token_hash = \(PendingConnection.tokenHash(token)) AND browser = \(browser)
                    RETURNING installation_id, account_id, refresh_token_ciphertext, microsoft_user_id, display_name,
                        microsoft_account, expires_at
                    """, logger: logger
                ).collect().first?.decode((String, String, Data, String, String, String, Int64).self)
            else { return .unknown }
            guard row.6 >= nowMs else { return .expired }
            let pending = PendingConnection(
                owner: ReportOwner(installationId: row.0, accountId: row.1), microsoftUserId: row.3,
                displayName: row.4, microsoftAccount: row.5)
            guard confirm else { return .taken(pending) }
            // Sealed for this owner already (same associated data), so the ciphertext moves as it is.
            try await PostgresConnectionStore.store(
                connection, pending.owner, sealedRefreshToken: row.2, microsoftUserId: pending.microsoftUserId,
                displayName: pending.displayName, at: nowMs, logger: logger)
            return .taken(pending)
        }
    }

    public func keepNames(_ names: ConnectNames, for owner: ReportOwner) async throws {
        let (nowMs, logger) = (Timestamp.milliseconds(now()), database.logger)
        let untilMs = nowMs + ConnectNames.lifetime.wholeMilliseconds
        try await database.withTransaction { connection in
            try await connection.checkedQuery("DELETE FROM connect_labels WHERE expires_at < \(nowMs)", logger: logger)
            try await connection.checkedQuery(
                """
                INSERT INTO connect_labels (installation_id, account_id, jira_display_name, site_name, expires_at)
                VALUES (\(owner.installationId), \(owner.accountId), \(names.jiraDisplayName), \(names.siteName), \(untilMs))
                ON CONFLICT (installation_id, account_id) DO UPDATE SET
                    jira_display_name = excluded.jira_display_name, site_name = excluded.site_name,
                    expires_at = excluded.expires_at
                """, logger: logger)
        }
    }

    public func names(for owner: ReportOwner) async throws -> ConnectNames? {
        let (nowMs, logger) = (Timestamp.milliseconds(now()), database.logger)
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT jira_display_name, site_name FROM connect_labels
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                AND expires_at >= \(nowMs)
                """, logger: logger
            ).collect().first.map { row in
                let (name, site) = try row.decode((String, String).self)
                return ConnectNames(jiraDisplayName: name, siteName: site)
            }
        }
    }
}
