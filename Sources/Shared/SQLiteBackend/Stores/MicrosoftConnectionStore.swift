public import Foundation
import GRDB
public import JobQueue
public import Reports
import ReportsSupport
public import Security

/// An Atlassian user's Microsoft connection: the refresh token (encrypted, bound to the owner) and who
/// they are in Microsoft.
public struct MicrosoftConnectionStore: MicrosoftConnections {
    public typealias Status = MicrosoftConnection.Status
    public typealias Connection = MicrosoftConnection

    public let database: ReportsDatabase
    public let vault: TokenVault
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.vault = vault
        self.now = now
    }

    public func connection(_ owner: ReportOwner) async throws -> Connection? {
        try await database.pool.read { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT microsoft_user_id, display_name, status, connected_at FROM microsoft_connections
                        WHERE installation_id = ? AND account_id = ?
                        """), arguments: [owner.installationId, owner.accountId]
            ).map { row in
                Connection(
                    microsoftUserId: row[0], displayName: row[1],
                    status: Status(rawValue: row[2]) ?? .reconnectRequired,
                    connectedAt: Timestamp.date(milliseconds: row[3]))
            }
        }
    }

    /// Stores (or replaces) the connection after a successful connect flow.
    public func save(_ owner: ReportOwner, refreshToken: Secret, microsoftUserId: String, displayName: String)
        async throws
    {
        let sealed = try vault.seal(
            refreshToken,
            context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        let now = Timestamp.milliseconds(now())
        try await database.pool.write { db in
            try Self.store(
                db, owner, sealedRefreshToken: sealed, microsoftUserId: microsoftUserId, displayName: displayName,
                at: now)
        }
    }

    /// Stores (or replaces) a connection whose refresh token is already sealed for `owner`, in the
    /// caller's transaction (also the confirmed end of the connect flow, PendingConnectionStore).
    static func store(
        _ db: Database, _ owner: ReportOwner, sealedRefreshToken: Data, microsoftUserId: String, displayName: String,
        at now: Int64
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO microsoft_connections (installation_id, account_id, refresh_token_ciphertext, microsoft_user_id, display_name, status, connected_at, refreshed_at)
                VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
                ON CONFLICT (installation_id, account_id) DO UPDATE SET
                    refresh_token_ciphertext = excluded.refresh_token_ciphertext, microsoft_user_id = excluded.microsoft_user_id,
                    display_name = excluded.display_name, status = 'active', connected_at = excluded.connected_at,
                    refreshed_at = excluded.refreshed_at,
                    -- A new connection (maybe another Microsoft account): nothing cached from the old one.
                    access_token_ciphertext = NULL, access_token_expires_at = NULL, refresh_lock_until = NULL, refresh_lock_holder = NULL
                """
        ).execute(arguments: [
            owner.installationId, owner.accountId, sealedRefreshToken, microsoftUserId,
            String(displayName.prefix(200)), now, now,
        ])
    }

    /// The refresh token, decrypted at the moment of use.
    public func refreshToken(_ owner: ReportOwner) async throws -> Secret? {
        let sealed = try await database.pool.read { db in
            try Data.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT refresh_token_ciphertext FROM microsoft_connections WHERE installation_id = ? AND account_id = ? AND status = 'active'
                        """), arguments: [owner.installationId, owner.accountId])
        }
        return try sealed.map {
            try vault.open(
                $0, context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        }
    }

    public func delete(_ owner: ReportOwner) async throws -> Bool {
        try await database.pool.write { db in
            try db.cachedStatement(
                sql: "DELETE FROM microsoft_connections WHERE installation_id = ? AND account_id = ?"
            ).execute(arguments: [owner.installationId, owner.accountId])
            return db.changesCount > 0
        }
    }
}

extension MicrosoftConnectionStore {
    /// Stores a rotated refresh token at once (it rotates on every use, docs/microsoft-tokens.md). A job passes
    /// its `lease`: the write then happens only while the lease holds (docs/page-identity.md).
    public func updateRefreshToken(_ owner: ReportOwner, _ refreshToken: Secret, lease: JobLease? = nil) async throws {
        let sealed = try vault.seal(
            refreshToken,
            context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        let now = Timestamp.milliseconds(now())
        try await database.pool.write { db in
            try lease?.requireHeld(db)
            try db.cachedStatement(
                sql: """
                    UPDATE microsoft_connections SET refresh_token_ciphertext = ?, refreshed_at = ?
                    WHERE installation_id = ? AND account_id = ? AND status = 'active'
                    """
            ).execute(arguments: [sealed, now, owner.installationId, owner.accountId])
        }
    }

    /// Microsoft refused the refresh token for good: the user must connect again (fenced by `lease` when
    /// a job passes one).
    public func markReconnectRequired(_ owner: ReportOwner, lease: JobLease? = nil) async throws {
        try await database.pool.write { db in
            try lease?.requireHeld(db)
            try db.cachedStatement(
                sql:
                    "UPDATE microsoft_connections SET status = 'reconnect_required' WHERE installation_id = ? AND account_id = ?"
            ).execute(arguments: [owner.installationId, owner.accountId])
        }
    }
}
