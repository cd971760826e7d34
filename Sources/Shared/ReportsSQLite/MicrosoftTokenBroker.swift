public import Foundation
import GRDB
public import JobQueue
import JobQueueSQLite
public import Logging
public import Microsoft
public import Reports
import ReportsSupport
public import SQLiteStorage
public import Security
import Upstream

/// Microsoft access tokens for a connection, refreshed by one process at a time (issue #12).
///
/// Every worker process and the API share the database, so the database is where they agree: a process
/// that needs a token reuses the connection's cached access token while it is valid for another
/// `reuseMargin` (kept encrypted, like every token at rest); otherwise it takes the connection's
/// refresh lock (a short lease, so a dead holder cannot keep it), redeems the refresh token once,
/// stores the rotated refresh token and the new access token and lets go — the others wait for it and
/// reuse its result. An `invalid_grant` marks the connection `reconnect_required` in the same moment, so
/// no other job redeems that token again; the one re-read of the stored token (another process may have
/// rotated it, docs/microsoft-tokens.md) is the only repeat.
public struct MicrosoftTokenBroker: Sendable {
    public let database: ReportsDatabase
    public let vault: TokenVault
    public let microsoft: MicrosoftIdentityClient
    /// How long a refresh may hold the lock before others may take it over.
    public var lockLease: Duration = .seconds(30)
    /// A cached access token is reused only while it is valid for at least this much longer.
    public var reuseMargin: TimeInterval = 300
    /// How often a process waiting for another's refresh looks again.
    public var lockPoll: Duration = .milliseconds(50)
    private let holder = UUID().uuidString.lowercased()
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        database: ReportsDatabase, vault: TokenVault, microsoft: MicrosoftIdentityClient,
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.database = database
        self.vault = vault
        self.microsoft = microsoft
        self.now = now
        self.sleep = sleep
    }

    private enum Step: Sendable {
        case cached(Data)
        case redeem
        case wait
        case notConnected
        case reconnectRequired
    }

    /// An access token for `owner`. `rejected`: a token Graph just answered 401 to; it is never handed
    /// out again (a new one is redeemed unless another process already did). `lease`: a job's lease;
    /// the broker's writes then happen only while it holds.
    public func accessToken(_ owner: ReportOwner, rejected: Secret? = nil, lease: JobLease? = nil, logger: Logger)
        async throws -> Secret
    {
        let context = VaultContext.microsoftAccessToken(
            installationId: owner.installationId, accountId: owner.accountId)
        let deadline = now().addingTimeInterval(lockLease.timeInterval + 5)
        while true {
            let nowMs = Timestamp.milliseconds(now())
            let (lockUntil, holder, margin) = (
                nowMs + lockLease.wholeMilliseconds, self.holder, Int64(reuseMargin * 1000)
            )
            let step = try await database.pool.write { db -> Step in
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT status, access_token_ciphertext, access_token_expires_at, refresh_lock_until FROM microsoft_connections
                            WHERE installation_id = ? AND account_id = ?
                            """, arguments: [owner.installationId, owner.accountId])
                else { return .notConnected }
                guard row["status"] == "active" else { return .reconnectRequired }
                if let sealed: Data = row["access_token_ciphertext"],
                    let expires: Int64 = row["access_token_expires_at"], expires > nowMs + margin
                {
                    return .cached(sealed)
                }
                let lockedUntil: Int64? = row["refresh_lock_until"]
                guard lockedUntil == nil || lockedUntil! < nowMs else { return .wait }
                try db.execute(
                    sql: """
                        UPDATE microsoft_connections SET refresh_lock_until = ?, refresh_lock_holder = ? WHERE installation_id = ? AND account_id = ?
                        """, arguments: [lockUntil, holder, owner.installationId, owner.accountId])
                return .redeem
            }
            switch step {
            case .notConnected:
                // The same words as /v1/me: never connected (or disconnected) is not "reconnect".
                throw UpstreamError(
                    kind: .reconnectRequired, code: "microsoft_not_connected",
                    message: "connect a Microsoft account in the app first")
            case .reconnectRequired:
                throw UpstreamError(
                    kind: .reconnectRequired, code: "reconnect_required",
                    message: "connect your Microsoft account again in the app")
            case .cached(let sealed):
                let token = try vault.open(sealed, context: context)
                if token != rejected { return token }
                // The cached token is the one Graph refused: drop it and redeem (unless someone else is).
                try await database.pool.write { db in
                    try db.execute(
                        sql: """
                            UPDATE microsoft_connections SET access_token_ciphertext = NULL, access_token_expires_at = NULL
                            WHERE installation_id = ? AND account_id = ? AND access_token_ciphertext = ?
                            """, arguments: [owner.installationId, owner.accountId, sealed])
                }
            case .redeem:
                return try await redeem(owner, lease: lease, logger: logger)
            case .wait:
                guard now() < deadline else {
                    throw UpstreamError(
                        kind: .transient, code: "microsoft_refresh_busy",
                        message: "another process is refreshing this Microsoft connection")
                }
                try await sleep(lockPoll)
            }
        }
    }

    /// Holding the lock: redeems the stored refresh token (and, on `invalid_grant`, the stored one once
    /// more if another process rotated it), stores the outcome and lets go of the lock.
    private func redeem(_ owner: ReportOwner, lease: JobLease?, logger: Logger) async throws -> Secret {
        let connections = MicrosoftConnectionStore(database: database, vault: vault, now: now)
        do {
            guard let stored = try await connections.refreshToken(owner) else {
                release(owner)
                throw UpstreamError(
                    kind: .reconnectRequired, code: "reconnect_required",
                    message: "connect your Microsoft account again in the app")
            }
            do {
                let tokens = try await microsoft.refresh(stored)
                do {
                    try await store(owner, tokens, lease: lease)
                } catch let error where StorageAvailability.isUnavailable(error) {
                    // Incidental (issue #14): the stored refresh token stays valid (Microsoft does not
                    // revoke it on use), so the fresh access token serves this call unstored.
                    release(owner)
                    logger.warning(
                        "storage unavailable; refreshed Microsoft tokens not stored",
                        metadata: ["reason": "\(StorageAvailability.reason(error))"])
                }
                return tokens.accessToken
            } catch let error as UpstreamError where error.kind == .reconnectRequired {
                if let again = try await connections.refreshToken(owner), again != stored,
                    let tokens = try? await microsoft.refresh(again)
                {
                    try await store(owner, tokens, lease: lease)
                    return tokens.accessToken
                }
                // Marked at once, and the lock released with it: nobody redeems this token again.
                try await database.pool.write { db in
                    try db.execute(
                        sql: """
                            UPDATE microsoft_connections SET status = 'reconnect_required', access_token_ciphertext = NULL, access_token_expires_at = NULL,
                                refresh_lock_until = NULL, refresh_lock_holder = NULL
                            WHERE installation_id = ? AND account_id = ?
                            """, arguments: [owner.installationId, owner.accountId])
                }
                throw error
            }
        } catch let error as UpstreamError where error.kind == .appMisconfigured {
            release(owner)
            logger.critical("Microsoft app misconfigured", metadata: ["code": "\(error.code)"])
            throw error
        } catch let error as UpstreamError where error.kind == .reconnectRequired {
            throw error
        } catch {
            release(owner)
            throw error
        }
    }

    private func store(_ owner: ReportOwner, _ tokens: MicrosoftIdentityClient.Tokens, lease: JobLease?) async throws {
        let refresh = try vault.seal(
            tokens.refreshToken,
            context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        let access = try vault.seal(
            tokens.accessToken,
            context: .microsoftAccessToken(installationId: owner.installationId, accountId: owner.accountId))
        let nowMs = Timestamp.milliseconds(now())
        let expires = nowMs + Int64(max(tokens.expiresIn, 0)) * 1000
        let holder = holder
        try await database.pool.write { db in
            // A job that lost its lease stores nothing (the old refresh token stays valid: Microsoft does
            // not revoke it on use, docs/microsoft-tokens.md), but always lets go of the lock.
            if let lease, (try? lease.requireHeld(db)) == nil {
                try db.execute(
                    sql: """
                        UPDATE microsoft_connections SET refresh_lock_until = NULL, refresh_lock_holder = NULL
                        WHERE installation_id = ? AND account_id = ? AND refresh_lock_holder = ?
                        """, arguments: [owner.installationId, owner.accountId, holder])
                return
            }
            try db.execute(
                sql: """
                    UPDATE microsoft_connections SET refresh_token_ciphertext = ?, refreshed_at = ?, access_token_ciphertext = ?, access_token_expires_at = ?,
                        refresh_lock_until = NULL, refresh_lock_holder = NULL
                    WHERE installation_id = ? AND account_id = ? AND status = 'active'
                    """, arguments: [refresh, nowMs, access, expires, owner.installationId, owner.accountId])
        }
    }

    /// Lets go of the refresh lock. Synchronous on purpose: it must happen even when the task is being
    /// cancelled (an async database write would refuse to start), or the others wait out the lease.
    private func release(_ owner: ReportOwner) {
        let holder = holder
        _ = try? database.pool.write { db in
            try db.execute(
                sql: """
                    UPDATE microsoft_connections SET refresh_lock_until = NULL, refresh_lock_holder = NULL
                    WHERE installation_id = ? AND account_id = ? AND refresh_lock_holder = ?
                    """, arguments: [owner.installationId, owner.accountId, holder])
        }
    }
}
