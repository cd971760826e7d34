public import Foundation
public import JobQueue
import Logging
public import Microsoft
import PostgresNIO
public import Reports
public import Security

/// The token broker's database part on PostgreSQL: "read the row, take the refresh lock" is one
/// transaction holding the connection's row lock (`FOR UPDATE`), so one process on any host redeems a
/// refresh token at a time.
public struct PostgresMicrosoftTokenStorage: MicrosoftTokenStorage {
    public let database: PostgresReportsDatabase

    public init(database: PostgresReportsDatabase) { self.database = database }

    public func nextStep(_ owner: ReportOwner, now: Int64, reuseMargin: Int64, lockUntil: Int64, holder: String)
        async throws -> MicrosoftTokenStep
    {
        let logger = database.logger
        return try await database.withTransaction { connection -> MicrosoftTokenStep in
            guard
                let row = try await connection.checkedQuery(
                    """
                    SELECT status, access_token_ciphertext, access_token_expires_at, refresh_lock_until
                    FROM microsoft_connections
                    WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId) FOR UPDATE
                    """, logger: logger
                ).collect().first?.decode((String, Data?, Int64?, Int64?).self)
            else { return .notConnected }
            guard row.0 == "active" else { return .reconnectRequired }
            if let sealed = row.1, let expires = row.2, expires > now + reuseMargin { return .cached(sealed) }
            if let lockedUntil = row.3, lockedUntil >= now { return .wait }
            try await connection.checkedQuery(
                """
                UPDATE microsoft_connections SET refresh_lock_until = \(lockUntil), refresh_lock_holder = \(holder)
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                """, logger: logger)
            return .redeem
        }
    }

    public func dropCachedAccessToken(_ owner: ReportOwner, ifStill sealed: Data) async throws {
        let logger = database.logger
        _ = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                UPDATE microsoft_connections SET access_token_ciphertext = NULL, access_token_expires_at = NULL
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                AND access_token_ciphertext = \(sealed)
                """, logger: logger)
        }
    }

    public func sealedRefreshToken(_ owner: ReportOwner) async throws -> Data? {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT refresh_token_ciphertext FROM microsoft_connections
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId) AND status = 'active'
                """, logger: logger
            ).collect().first?.decode(Data.self)
        }
    }

    public func storeRefreshed(
        _ owner: ReportOwner, _ tokens: RefreshedMicrosoftTokens, lease: JobLease?, holder: String
    ) async throws {
        let logger = database.logger
        try await database.withTransaction { connection in
            do {
                try await lease?.requireHeld(on: connection, logger: logger)
            } catch is LeaseLostError {
                try await Self.release(connection, owner, holder: holder, logger)
                return
            }
            try await connection.checkedQuery(
                """
                UPDATE microsoft_connections SET refresh_token_ciphertext = \(tokens.sealedRefreshToken),
                    refreshed_at = \(tokens.refreshedAt), access_token_ciphertext = \(tokens.sealedAccessToken),
                    access_token_expires_at = \(tokens.accessExpiresAt), refresh_lock_until = NULL,
                    refresh_lock_holder = NULL
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId) AND status = 'active'
                """, logger: logger)
        }
    }

    public func markReconnectRequiredReleasingLock(_ owner: ReportOwner) async throws {
        let logger = database.logger
        _ = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                UPDATE microsoft_connections SET status = 'reconnect_required', access_token_ciphertext = NULL,
                    access_token_expires_at = NULL, refresh_lock_until = NULL, refresh_lock_holder = NULL
                WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
                """, logger: logger)
        }
    }

    /// Best effort: a task being cancelled cannot borrow a pooled connection, so then the lock is left
    /// to its lease (`MicrosoftTokenBroker.lockLease`, 30 s) and the others wait that long at most.
    public func releaseLock(_ owner: ReportOwner, holder: String) async {
        let logger = database.logger
        _ = try? await database.withConnection { connection in
            try await Self.release(connection, owner, holder: holder, logger)
        }
    }

    private static func release(
        _ connection: PostgresConnection, _ owner: ReportOwner, holder: String, _ logger: Logger
    ) async throws {
        try await connection.checkedQuery(
            """
            UPDATE microsoft_connections SET refresh_lock_until = NULL, refresh_lock_holder = NULL
            WHERE installation_id = \(owner.installationId) AND account_id = \(owner.accountId)
            AND refresh_lock_holder = \(holder)
            """, logger: logger)
    }

    public func unavailableReason(_ error: any Error) -> String? { PostgresAvailability.reason(error) }
}

extension MicrosoftTokenBroker {
    /// The broker over PostgreSQL.
    public init(
        database: PostgresReportsDatabase, vault: TokenVault, microsoft: MicrosoftIdentityClient,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            storage: PostgresMicrosoftTokenStorage(database: database), vault: vault, microsoft: microsoft, now: now)
    }
}
