public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport
public import Security

/// Installations on PostgreSQL, keyed by the installation id of verified FITs, with the newest app
/// system token (the same rules as `InstallationStore` on SQLite; `SystemTokens` says how a token is
/// sealed and capped).
public struct PostgresInstallationStore: InstallationRecords {
    public let database: PostgresReportsDatabase
    public let vault: TokenVault
    private let now: @Sendable () -> Date
    private let recentlySeen = RecentlySeenInstallations()

    public init(
        database: PostgresReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.vault = vault
        self.now = now
    }

    public func record(_ identity: FITIdentity, systemToken: Secret?) async throws {
        let now = Timestamp.milliseconds(now())
        let sealed = try SystemTokens.seal(
            systemToken, installationId: identity.installationId, vault: vault, now: now)
        if sealed == nil, recentlySeen.isFresh(identity, at: now) {
            return
        }
        let logger = database.logger
        _ = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                INSERT INTO installations (id, cloud_id, api_base_url, system_token_ciphertext,
                    system_token_expires_at, first_seen_at, last_seen_at, site_url, license_active)
                VALUES (\(identity.installationId), \(identity.cloudId), \(identity.apiBaseUrl.absoluteString),
                    \(sealed?.ciphertext), \(sealed?.expiresAt), \(now), \(now), \(identity.siteUrl?.absoluteString),
                    \(identity.licenseActive))
                ON CONFLICT (id) DO UPDATE SET
                    cloud_id = excluded.cloud_id,
                    license_active = coalesce(excluded.license_active, installations.license_active),
                    api_base_url = excluded.api_base_url,
                    site_url = coalesce(excluded.site_url, installations.site_url),
                    last_seen_at = excluded.last_seen_at,
                    system_token_ciphertext = coalesce(excluded.system_token_ciphertext,
                        installations.system_token_ciphertext),
                    system_token_expires_at = CASE WHEN excluded.system_token_ciphertext IS NOT NULL
                        THEN excluded.system_token_expires_at ELSE installations.system_token_expires_at END
                """, logger: logger)
        }
        recentlySeen.note(identity, at: now)
    }

    /// The stored system token and its expiry, decrypted at the moment of use.
    public func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        let logger = database.logger
        let row = try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT system_token_ciphertext, system_token_expires_at FROM installations
                WHERE id = \(installationId) AND system_token_ciphertext IS NOT NULL
                """, logger: logger
            ).collect().first?.decode((Data, Int64).self)
        }
        guard let (sealed, expiry) = row else { return nil }
        return (
            try vault.open(sealed, context: .atlassianSystemToken(installationId: installationId)),
            Timestamp.date(milliseconds: expiry)
        )
    }

    /// Forgets the stored system token if it is still `token` (a newer one that arrived meanwhile
    /// stays): the row is locked while the stored one is compared.
    @discardableResult
    public func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool {
        let (vault, logger) = (vault, database.logger)
        return try await database.withTransaction { connection in
            guard
                let sealed = try await connection.checkedQuery(
                    "SELECT system_token_ciphertext FROM installations WHERE id = \(installationId) FOR UPDATE",
                    logger: logger
                ).collect().first?.decode(Data?.self),
                let stored = try? vault.open(sealed, context: .atlassianSystemToken(installationId: installationId)),
                stored.revealed == token.revealed
            else { return false }
            try await connection.checkedQuery(
                """
                UPDATE installations SET system_token_ciphertext = NULL, system_token_expires_at = NULL
                WHERE id = \(installationId)
                """, logger: logger)
            return true
        }
    }

    public func installation(_ id: String) async throws -> Installation? {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await Self.installation(connection, id: id, logger)
        }
    }

    /// The site, read on the caller's connection (the run's claim reads it with the report).
    static func installation(_ connection: PostgresConnection, id: String, _ logger: Logger) async throws
        -> Installation?
    {
        try await site(connection, id: id, logger)?.installation
    }

    /// The site and its system token as stored (sealed), in one read: what a run's claim needs.
    static func site(_ connection: PostgresConnection, id: String, _ logger: Logger) async throws
        -> (installation: Installation, systemToken: SealedSystemToken?)?
    {
        let row = try await connection.checkedQuery(
            """
            SELECT id, cloud_id, api_base_url, site_url, system_token_ciphertext, system_token_expires_at
            FROM installations WHERE id = \(id)
            """, logger: logger
        ).collect().first?.decode((String, String, String, String?, Data?, Int64?).self)
        guard let row, let base = URL(string: row.2) else { return nil }
        let installation = Installation(
            id: row.0, cloudId: row.1, apiBaseUrl: base, siteUrl: row.3.flatMap(URL.init(string:)))
        guard let sealed = row.4, let expiry = row.5 else { return (installation, nil) }
        return (installation, SealedSystemToken(sealed: sealed, expiresAt: Timestamp.date(milliseconds: expiry)))
    }
}
