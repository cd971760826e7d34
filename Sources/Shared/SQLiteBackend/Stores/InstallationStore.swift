public import Foundation
import GRDB
public import Reports
import ReportsSupport
public import Security

/// Installations, keyed by the installation id of verified FITs, with the newest app system token.
public struct InstallationStore: Sendable {
    public let database: ReportsDatabase
    public let vault: TokenVault
    private let now: @Sendable () -> Date
    /// Installations recorded lately without a token: `last_seen_at` is refreshed at most once a minute
    /// per installation, so a plain API call costs no write (a call that brings a new site URL is written).
    private let recentlySeen = RecentlySeenInstallations()

    public init(database: ReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.vault = vault
        self.now = now
    }

    /// Records a verified caller's installation and, when given, its system token. The newest token to
    /// arrive replaces the stored one whatever `exp` it claims (an unverified claim must not let a
    /// token pin itself); its expiry, read for scheduling only, is capped at now + 4 hours.
    /// Call it with a token only for FITs without a principal (Forge's own calls).
    public func record(_ identity: FITIdentity, systemToken: Secret?) async throws {
        let now = Timestamp.milliseconds(now())
        let sealed = try SystemTokens.seal(
            systemToken, installationId: identity.installationId, vault: vault, now: now)
        if sealed == nil, recentlySeen.isFresh(identity, at: now) {
            return
        }
        let (ciphertext, expiry) = (sealed?.ciphertext, sealed?.expiresAt)
        try await database.pool.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO installations (id, cloud_id, api_base_url, system_token_ciphertext, system_token_expires_at, first_seen_at, last_seen_at, site_url, license_active)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        cloud_id = excluded.cloud_id,
                        license_active = coalesce(excluded.license_active, installations.license_active),
                        api_base_url = excluded.api_base_url,
                        site_url = coalesce(excluded.site_url, installations.site_url),
                        last_seen_at = excluded.last_seen_at,
                        system_token_ciphertext = coalesce(excluded.system_token_ciphertext, installations.system_token_ciphertext),
                        system_token_expires_at = CASE WHEN excluded.system_token_ciphertext IS NOT NULL
                            THEN excluded.system_token_expires_at ELSE installations.system_token_expires_at END
                    """
            ).execute(arguments: [
                identity.installationId, identity.cloudId, identity.apiBaseUrl.absoluteString, ciphertext, expiry,
                now, now, identity.siteUrl?.absoluteString, identity.licenseActive,
            ])
        }
        recentlySeen.note(identity, at: now)
    }

    /// The stored system token and its expiry, decrypted at the moment of use.
    public func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        let row = try await database.pool.read { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT system_token_ciphertext, system_token_expires_at FROM installations WHERE id = ?"),
                arguments: [installationId]
            )
            .flatMap { row -> (Data, Int64)? in
                guard let data = row[0] as Data?, let expiry = row[1] as Int64? else { return nil }
                return (data, expiry)
            }
        }
        guard let (sealed, expiry) = row else { return nil }
        return (
            try vault.open(sealed, context: .atlassianSystemToken(installationId: installationId)),
            Timestamp.date(milliseconds: expiry)
        )
    }

    /// Forgets the stored system token if it is still `token` (Atlassian refused it; a newer one that
    /// arrived meanwhile stays). True when it was dropped.
    @discardableResult
    public func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool {
        let vault = vault
        return try await database.pool.write { db in
            guard
                let sealed = try Data.fetchOne(
                    db.cachedStatement(sql: "SELECT system_token_ciphertext FROM installations WHERE id = ?"),
                    arguments: [installationId]),
                let stored = try? vault.open(sealed, context: .atlassianSystemToken(installationId: installationId)),
                stored.revealed == token.revealed
            else { return false }
            try db.cachedStatement(
                sql: """
                    UPDATE installations SET system_token_ciphertext = NULL, system_token_expires_at = NULL WHERE id = ?
                    """
            ).execute(arguments: [installationId])
            return true
        }
    }

    public typealias Installation = Reports.Installation

    public func installation(_ id: String) async throws -> Installation? {
        try await database.pool.read { db in try Self.installation(db, id: id) }
    }

    /// The site, read in the caller's transaction (the run's claim reads it with the report).
    static func installation(_ db: Database, id: String) throws -> Installation? {
        try site(db, id: id)?.installation
    }

    /// The site and its system token as stored (sealed), in one read: what a run's claim needs.
    static func site(_ db: Database, id: String) throws -> (
        installation: Installation, systemToken: SealedSystemToken?
    )? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT id, cloud_id, api_base_url, site_url, system_token_ciphertext, system_token_expires_at
                        FROM installations WHERE id = ?
                        """), arguments: [id]),
            let base = URL(string: row[2])
        else { return nil }
        let installation = Installation(
            id: row[0], cloudId: row[1], apiBaseUrl: base, siteUrl: (row[3] as String?).flatMap(URL.init(string:)))
        guard let sealed = row[4] as Data?, let expiry = row[5] as Int64? else { return (installation, nil) }
        return (installation, SealedSystemToken(sealed: sealed, expiresAt: Timestamp.date(milliseconds: expiry)))
    }
}
