import Crypto
public import Foundation
import GRDB
public import Reports
import ReportsSupport
public import Security

/// Microsoft connections waiting for the user to confirm them. The callback exchanges the
/// code (it would expire otherwise) and parks the result here, sealed exactly as a stored connection
/// is; nothing becomes a connection until the same browser posts the one-time confirmation token.
/// Declined, expired or never confirmed rows are deleted, with their tokens.
public struct PendingConnectionStore: PendingConnections {
    public typealias Pending = PendingConnection
    public typealias Outcome = PendingConnectionOutcome
    public static var lifetime: Duration { PendingConnection.lifetime }

    public let database: ReportsDatabase
    public let vault: TokenVault
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.vault = vault
        self.now = now
    }

    /// Parks a connection for `browser` (the connect cookie's hash) and returns the one-time token the
    /// confirmation form carries. Only the token's hash is stored.
    public func park(_ pending: Pending, refreshToken: Secret, browser: String) async throws -> Secret {
        let token = Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        let sealed = try vault.seal(
            refreshToken,
            context: .microsoftRefreshToken(
                installationId: pending.owner.installationId, accountId: pending.owner.accountId))
        let nowMs = Timestamp.milliseconds(now())
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM oauth_pending_connections WHERE expires_at < ?", arguments: [nowMs])
            try db.execute(
                sql: """
                    INSERT INTO oauth_pending_connections
                        (token_hash, installation_id, account_id, browser, refresh_token_ciphertext, microsoft_user_id, display_name, microsoft_account, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    PendingConnection.tokenHash(token), pending.owner.installationId, pending.owner.accountId, browser,
                    sealed,
                    pending.microsoftUserId, String(pending.displayName.prefix(200)),
                    String(pending.microsoftAccount.prefix(200)),
                    nowMs + Self.lifetime.wholeMilliseconds,
                ])
        }
        return Secret(token)
    }

    /// Takes the pending connection out (single use), if `token` is one and `browser` is the one it was
    /// parked for. With `confirm`, stores it as the owner's Microsoft connection in the same
    /// transaction; without, it is only deleted (declined).
    public func take(token: String, browser: String, confirm: Bool) async throws -> Outcome {
        let nowMs = Timestamp.milliseconds(now())
        return try await database.pool.write { db -> Outcome in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        DELETE FROM oauth_pending_connections WHERE token_hash = ? AND browser = ?
                        RETURNING installation_id, account_id, refresh_token_ciphertext, microsoft_user_id, display_name, microsoft_account, expires_at
                        """, arguments: [PendingConnection.tokenHash(token), browser])
            else { return .unknown }
            guard (row[6] as Int64) >= nowMs else { return .expired }
            let pending = Pending(
                owner: ReportOwner(installationId: row[0], accountId: row[1]), microsoftUserId: row[3],
                displayName: row[4], microsoftAccount: row[5])
            guard confirm else { return .taken(pending) }
            // Sealed for this owner already (same associated data), so the ciphertext moves as it is.
            try MicrosoftConnectionStore.store(
                db, pending.owner, sealedRefreshToken: row[2], microsoftUserId: pending.microsoftUserId,
                displayName: pending.displayName, at: nowMs)
            return .taken(pending)
        }
    }

    public func keepNames(_ names: ConnectNames, for owner: ReportOwner) async throws {
        let nowMs = Timestamp.milliseconds(now())
        let untilMs = nowMs + ConnectNames.lifetime.wholeMilliseconds
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM connect_labels WHERE expires_at < ?", arguments: [nowMs])
            try db.execute(
                sql: """
                    INSERT INTO connect_labels (installation_id, account_id, jira_display_name, site_name, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (installation_id, account_id) DO UPDATE SET
                        jira_display_name = excluded.jira_display_name, site_name = excluded.site_name,
                        expires_at = excluded.expires_at
                    """,
                arguments: [owner.installationId, owner.accountId, names.jiraDisplayName, names.siteName, untilMs])
        }
    }

    public func names(for owner: ReportOwner) async throws -> ConnectNames? {
        let nowMs = Timestamp.milliseconds(now())
        return try await database.pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT jira_display_name, site_name FROM connect_labels
                    WHERE installation_id = ? AND account_id = ? AND expires_at >= ?
                    """, arguments: [owner.installationId, owner.accountId, nowMs]
            ).map { ConnectNames(jiraDisplayName: $0[0], siteName: $0[1]) }
        }
    }
}
