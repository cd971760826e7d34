public import Foundation
public import JobQueue
public import Logging
public import Reports
import ReportsSupport
public import Security
import Upstream

/// Microsoft access tokens for a connection, refreshed by one process at a time
/// (docs/microsoft-tokens.md).
///
/// Every worker process and the API share the database, so the database is where they agree: a process
/// that needs a token reuses the connection's cached access token while it is valid for another
/// `reuseMargin` (kept encrypted, like every token at rest); otherwise it takes the connection's
/// refresh lock (a short lease, so a dead holder cannot keep it), redeems the refresh token once,
/// stores the rotated refresh token and the new access token and lets go — the others wait for it and
/// reuse its result. An `invalid_grant` marks the connection `reconnect_required` in the same moment, so
/// no other job redeems that token again; the one re-read of the stored token (another process may have
/// rotated it) is the only repeat. The database's part is a `MicrosoftTokenStorage` (one per backend).
public struct MicrosoftTokenBroker: Sendable {
    let storage: any MicrosoftTokenStorage
    let vault: TokenVault
    let microsoft: MicrosoftIdentityClient
    /// How long a refresh may hold the lock before others may take it over.
    var lockLease: Duration = .seconds(30)
    /// A cached access token is reused only while it is valid for at least this much longer.
    var reuseMargin: TimeInterval = 300
    /// How often a process waiting for another's refresh looks again.
    var lockPoll: Duration = .milliseconds(50)
    private let holder = UUID().uuidString.lowercased()
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        storage: any MicrosoftTokenStorage, vault: TokenVault, microsoft: MicrosoftIdentityClient,
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.storage = storage
        self.vault = vault
        self.microsoft = microsoft
        self.now = now
        self.sleep = sleep
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
            let step = try await storage.nextStep(
                owner, now: nowMs, reuseMargin: Int64(reuseMargin * 1000),
                lockUntil: nowMs + lockLease.wholeMilliseconds, holder: holder)
            switch step {
            case .notConnected:
                // The same words as /v1/me: never connected (or disconnected) is not "reconnect".
                throw UpstreamError(
                    kind: .reconnectRequired, code: "microsoft_not_connected",
                    message: "connect a Microsoft account in the app first")
            case .reconnectRequired:
                throw Self.reconnectRequired
            case .cached(let sealed):
                let token = try vault.open(sealed, context: context)
                if token != rejected { return token }
                // The cached token is the one Graph refused: drop it and redeem (unless someone else is).
                try await storage.dropCachedAccessToken(owner, ifStill: sealed)
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

    private static let reconnectRequired = UpstreamError(
        kind: .reconnectRequired, code: "reconnect_required", message: "connect your Microsoft account again in the app"
    )

    /// The stored refresh token of an active connection, decrypted at the moment of use.
    private func storedRefreshToken(_ owner: ReportOwner) async throws -> Secret? {
        try await storage.sealedRefreshToken(owner).map {
            try vault.open(
                $0, context: .microsoftRefreshToken(installationId: owner.installationId, accountId: owner.accountId))
        }
    }

    /// Holding the lock: redeems the stored refresh token (and, on `invalid_grant`, the stored one once
    /// more if another process rotated it), stores the outcome and lets go of the lock.
    private func redeem(_ owner: ReportOwner, lease: JobLease?, logger: Logger) async throws -> Secret {
        do {
            guard let stored = try await storedRefreshToken(owner) else {
                await storage.releaseLock(owner, holder: holder)
                throw Self.reconnectRequired
            }
            do {
                let tokens = try await microsoft.refresh(stored)
                do {
                    try await store(owner, tokens, lease: lease)
                } catch let error where storage.unavailableReason(error) != nil {
                    // Incidental: the stored refresh token stays valid (Microsoft does not
                    // revoke it on use), so the fresh access token serves this call unstored.
                    await storage.releaseLock(owner, holder: holder)
                    logger.warning(
                        "storage unavailable; refreshed Microsoft tokens not stored",
                        metadata: ["reason": "\(storage.unavailableReason(error) ?? "")"])
                }
                return tokens.accessToken
            } catch let error as UpstreamError where error.kind == .reconnectRequired {
                if let again = try await storedRefreshToken(owner), again != stored,
                    let tokens = try? await microsoft.refresh(again)
                {
                    try await store(owner, tokens, lease: lease)
                    return tokens.accessToken
                }
                // Marked at once, and the lock released with it: nobody redeems this token again.
                try await storage.markReconnectRequiredReleasingLock(owner)
                throw error
            }
        } catch let error as UpstreamError where error.kind == .appMisconfigured {
            await storage.releaseLock(owner, holder: holder)
            logger.critical("Microsoft app misconfigured", metadata: ["code": "\(error.code)"])
            throw error
        } catch let error as UpstreamError where error.kind == .reconnectRequired {
            throw error
        } catch {
            await storage.releaseLock(owner, holder: holder)
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
        try await storage.storeRefreshed(
            owner,
            RefreshedMicrosoftTokens(
                sealedRefreshToken: refresh, sealedAccessToken: access,
                accessExpiresAt: nowMs + Int64(max(tokens.expiresIn, 0)) * 1000, refreshedAt: nowMs),
            lease: lease, holder: holder)
    }
}

/// The broker's next step, read and (for `.redeem`) acted on atomically by the storage.
public enum MicrosoftTokenStep: Sendable {
    /// A cached access token valid for the reuse margin (sealed).
    case cached(Data)
    /// The caller now holds the refresh lock.
    case redeem
    /// Another process holds the refresh lock.
    case wait
    case notConnected
    case reconnectRequired
}

/// A refresh's outcome, sealed, as the storage writes it.
public struct RefreshedMicrosoftTokens: Sendable {
    public let sealedRefreshToken: Data
    public let sealedAccessToken: Data
    public let accessExpiresAt: Int64
    public let refreshedAt: Int64
}

/// The database's part of the token broker: the connection row's cached access token and refresh lock.
public protocol MicrosoftTokenStorage: Sendable {
    /// In one atomic step: the cached access token if it is valid past `now + reuseMargin`; otherwise the
    /// refresh lock taken for `holder` until `lockUntil` (`.redeem`) unless another holds it (`.wait`).
    func nextStep(_ owner: ReportOwner, now: Int64, reuseMargin: Int64, lockUntil: Int64, holder: String)
        async throws -> MicrosoftTokenStep
    /// Forgets the cached access token if it is still `sealed`.
    func dropCachedAccessToken(_ owner: ReportOwner, ifStill sealed: Data) async throws
    /// The refresh token of an active connection, sealed.
    func sealedRefreshToken(_ owner: ReportOwner) async throws -> Data?
    /// Stores a refresh's outcome and lets go of the lock; with a lease that no longer holds, only lets
    /// go (the old refresh token stays valid: Microsoft does not revoke it on use).
    func storeRefreshed(_ owner: ReportOwner, _ tokens: RefreshedMicrosoftTokens, lease: JobLease?, holder: String)
        async throws
    /// `reconnect_required`, the cached token dropped and the lock let go, at once.
    func markReconnectRequiredReleasingLock(_ owner: ReportOwner) async throws
    /// Lets go of `holder`'s lock, best effort and even while the task is being cancelled where the
    /// backend allows it (otherwise the others wait out the lock's lease).
    func releaseLock(_ owner: ReportOwner, holder: String) async
    /// Why `error` means the storage cannot be used now, or nil.
    func unavailableReason(_ error: any Error) -> String?
}
