public import Foundation
public import JobQueue
import Logging
import PostgresNIO
public import Reports
import ReportsSupport
public import Security

/// Users' Microsoft connections on PostgreSQL: the refresh token (encrypted, bound to the owner) and
/// who they are in Microsoft (the rules of `MicrosoftConnectionStore` on SQLite).
public struct PostgresConnectionStore: MicrosoftConnections {
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

    public func connection(_ owner: ReportOwner) async throws -> MicrosoftConnection? {
        let logger = database.logger
        let row = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT microsoft_user_id, display_name, status, connected_at FROM microsoft_connections
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                """, logger: logger
            ).collect().first?.decode((String, String, String, Int64).self)
        }
        return row.map {
            MicrosoftConnection(
                microsoftUserId: $0.0, displayName: $0.1,
                status: MicrosoftConnection.Status(rawValue: $0.2) ?? .reconnectRequired,
                connectedAt: Timestamp.date(milliseconds: $0.3))
        }
    }

    /// Stores (or replaces) the connection after a successful connect flow.
    public func save(_ owner: ReportOwner, refreshToken: Secret, microsoftUserId: String, displayName: String)
        async throws
    {
        let sealed = try vault.seal(
            refreshToken,
            context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        let (now, logger) = (Timestamp.milliseconds(now()), database.logger)
        try await database.withConnection { connection in
            try await Self.store(
                connection, owner, sealedRefreshToken: sealed, microsoftUserId: microsoftUserId,
                displayName: displayName, at: now, logger: logger)
        }
    }

    /// Stores (or replaces) a connection whose refresh token is already sealed for `owner`, on the
    /// caller's connection (also the confirmed end of the connect flow, in its transaction).
    static func store(
        _ connection: PostgresConnection, _ owner: ReportOwner, sealedRefreshToken: Data, microsoftUserId: String,
        displayName: String, at now: Int64, logger: Logger
    ) async throws {
        try await connection.checkedQuery(
            """
            INSERT INTO microsoft_connections (installation_id, account_id, refresh_token_ciphertext,
                microsoft_user_id, display_name, status, connected_at, refreshed_at)
            VALUES (\(owner.installationId), \(owner.accountId), \(sealedRefreshToken), \(microsoftUserId),
                \(String(displayName.prefix(200))), 'active', \(now), \(now))
            ON CONFLICT (installation_id, account_id) DO UPDATE SET
                refresh_token_ciphertext = excluded.refresh_token_ciphertext,
                microsoft_user_id = excluded.microsoft_user_id, display_name = excluded.display_name,
                status = 'active', connected_at = excluded.connected_at, refreshed_at = excluded.refreshed_at,
                -- A new connection (maybe another Microsoft account): nothing cached from the old one.
                access_token_ciphertext = NULL, access_token_expires_at = NULL, refresh_lock_until = NULL,
                refresh_lock_holder = NULL
            """, logger: logger)
    }

    public func delete(_ owner: ReportOwner) async throws -> Bool {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                DELETE FROM microsoft_connections
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId) RETURNING 1
                """, logger: logger
            ).collect().count == 1
        }
    }

    /// Microsoft refused the refresh token for good: the user must connect again (only while `lease`
    /// holds, when a job passes one).
    public func markReconnectRequired(_ owner: ReportOwner, lease: JobLease?) async throws {
        let logger = database.logger
        try await database.withTransaction { connection in
            try await lease?.requireHeld(on: connection, logger: logger)
            try await connection.checkedQuery(
                """
                UPDATE microsoft_connections SET status = 'reconnect_required'
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                """, logger: logger)
        }
    }
}
