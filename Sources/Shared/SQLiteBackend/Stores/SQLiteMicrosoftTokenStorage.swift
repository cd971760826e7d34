public import Foundation
import GRDB
public import JobQueue
public import Microsoft
public import Reports
public import Security

/// The token broker's database part over the SQLite file: each step is one write transaction (SQLite's
/// single writer makes "read the row, take the lock" atomic).
public struct SQLiteMicrosoftTokenStorage: MicrosoftTokenStorage {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) { self.database = database }

    public func nextStep(_ owner: ReportOwner, now: Int64, reuseMargin: Int64, lockUntil: Int64, holder: String)
        async throws -> MicrosoftTokenStep
    {
        try await database.pool.write { db -> MicrosoftTokenStep in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT status, access_token_ciphertext, access_token_expires_at, refresh_lock_until FROM microsoft_connections
                            WHERE installation_id = ? AND account_id = ?
                            """), arguments: [owner.installationId, owner.accountId])
            else { return .notConnected }
            guard row["status"] == "active" else { return .reconnectRequired }
            if let sealed: Data = row["access_token_ciphertext"],
                let expires: Int64 = row["access_token_expires_at"], expires > now + reuseMargin
            {
                return .cached(sealed)
            }
            let lockedUntil: Int64? = row["refresh_lock_until"]
            guard lockedUntil == nil || lockedUntil! < now else { return .wait }
            try db.cachedStatement(
                sql: """
                    UPDATE microsoft_connections SET refresh_lock_until = ?, refresh_lock_holder = ? WHERE installation_id = ? AND account_id = ?
                    """
            ).execute(arguments: [lockUntil, holder, owner.installationId, owner.accountId])
            return .redeem
        }
    }

    public func dropCachedAccessToken(_ owner: ReportOwner, ifStill sealed: Data) async throws {
        try await database.pool.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE microsoft_connections SET access_token_ciphertext = NULL, access_token_expires_at = NULL
                    WHERE installation_id = ? AND account_id = ? AND access_token_ciphertext = ?
                    """
            ).execute(arguments: [owner.installationId, owner.accountId, sealed])
        }
    }

    public func sealedRefreshToken(_ owner: ReportOwner) async throws -> Data? {
        try await database.pool.read { db in
            try Data.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT refresh_token_ciphertext FROM microsoft_connections WHERE installation_id = ? AND account_id = ? AND status = 'active'
                        """), arguments: [owner.installationId, owner.accountId])
        }
    }

    public func storeRefreshed(
        _ owner: ReportOwner, _ tokens: RefreshedMicrosoftTokens, lease: JobLease?, holder: String
    ) async throws {
        try await database.pool.write { db in
            if let lease, (try? lease.requireHeld(db)) == nil {
                try Self.release(db, owner, holder: holder)
                return
            }
            try db.cachedStatement(
                sql: """
                    UPDATE microsoft_connections SET refresh_token_ciphertext = ?, refreshed_at = ?, access_token_ciphertext = ?, access_token_expires_at = ?,
                        refresh_lock_until = NULL, refresh_lock_holder = NULL
                    WHERE installation_id = ? AND account_id = ? AND status = 'active'
                    """
            ).execute(arguments: [
                tokens.sealedRefreshToken, tokens.refreshedAt, tokens.sealedAccessToken, tokens.accessExpiresAt,
                owner.installationId, owner.accountId,
            ])
        }
    }

    public func markReconnectRequiredReleasingLock(_ owner: ReportOwner) async throws {
        try await database.pool.write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE microsoft_connections SET status = 'reconnect_required', access_token_ciphertext = NULL, access_token_expires_at = NULL,
                        refresh_lock_until = NULL, refresh_lock_holder = NULL
                    WHERE installation_id = ? AND account_id = ?
                    """
            ).execute(arguments: [owner.installationId, owner.accountId])
        }
    }

    /// Synchronous on purpose: it must happen even when the task is being cancelled (an async database
    /// write would refuse to start), or the others wait out the lease.
    public func releaseLock(_ owner: ReportOwner, holder: String) async {
        releaseBlocking(owner, holder: holder)
    }

    /// Not async, so the blocking `write` is the one called.
    private func releaseBlocking(_ owner: ReportOwner, holder: String) {
        _ = try? database.pool.write { db in try Self.release(db, owner, holder: holder) }
    }

    private static func release(_ db: Database, _ owner: ReportOwner, holder: String) throws {
        try db.cachedStatement(
            sql: """
                UPDATE microsoft_connections SET refresh_lock_until = NULL, refresh_lock_holder = NULL
                WHERE installation_id = ? AND account_id = ? AND refresh_lock_holder = ?
                """
        ).execute(arguments: [owner.installationId, owner.accountId, holder])
    }

    public func unavailableReason(_ error: any Error) -> String? {
        StorageAvailability.isUnavailable(error) ? StorageAvailability.reason(error) : nil
    }
}

extension MicrosoftTokenBroker {
    /// The broker over the SQLite file.
    public init(
        database: ReportsDatabase, vault: TokenVault, microsoft: MicrosoftIdentityClient,
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.init(
            storage: SQLiteMicrosoftTokenStorage(database: database), vault: vault, microsoft: microsoft, now: now,
            sleep: sleep)
    }
}
