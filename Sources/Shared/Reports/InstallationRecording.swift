public import Foundation
import ReportsSupport
public import Security
import Synchronization

/// What both backends' installation stores do before they write: seal a Forge system token for its
/// installation and decide how long it is taken to be usable, and skip writes an API call does not need.
public enum SystemTokens {
    /// How long a stored system token is taken to be usable at most, whatever its `exp` claims: Forge's
    /// tokens live up to 4 hours (docs/atlassian-apis.md §2), and a claimed expiry is unverified.
    static let maxLifetime: Int64 = 4 * 3_600_000

    /// The token sealed for `installationId`, and its expiry in epoch milliseconds: its `exp` (or an hour
    /// when it has none), capped at now + 4 hours. Nil for no token or an empty one.
    public static func seal(_ token: Secret?, installationId: String, vault: TokenVault, now: Int64) throws
        -> (ciphertext: Data, expiresAt: Int64)?
    {
        guard let token, !token.isEmpty else { return nil }
        let sealed = try vault.seal(token, context: .atlassianSystemToken(installationId: installationId))
        let expiresAt = min(expiry(of: token).map(Timestamp.milliseconds) ?? now + 3_600_000, now + maxLifetime)
        return (sealed, expiresAt)
    }

    /// The `exp` claim of a JWT-shaped token, read without verifying it (for caching only).
    package static func expiry(of token: Secret) -> Date? {
        let parts = token.revealed.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(bytes: parts[1]),
            let object = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
            let exp = (object["exp"] as? NSNumber)?.doubleValue
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }
}

/// Which installations this process wrote in the last minute, and what it wrote: a call that would store
/// nothing new (same cloud id and base URL, no site URL or the same one, no licence state or the same
/// one) is not written again, so a
/// plain API call costs no write. A call that would add or change what is stored about the site is
/// never skipped: lifecycle events and triggers carry no site URL, so the first user call after an
/// install brings it, and skipping that call for a minute left every issue key of the first runs
/// without a link.
public final class RecentlySeenInstallations: Sendable {
    private struct Written {
        let cloudId: String
        let apiBaseUrl: URL
        /// What the row holds after the write (a call without a site URL keeps the stored one).
        let siteUrl: URL?
        /// The licence state written (a call whose token says nothing keeps the stored one).
        let licenseActive: Bool?
        let at: Int64
    }

    private let entries = Mutex<[String: Written]>([:])

    public init() {}

    /// True if this process wrote everything `identity` carries within the last minute.
    public func isFresh(_ identity: FITIdentity, at now: Int64) -> Bool {
        entries.withLock { entries in
            guard let entry = entries[identity.installationId], now - entry.at < 60_000 else { return false }
            return entry.cloudId == identity.cloudId && entry.apiBaseUrl == identity.apiBaseUrl
                && (identity.siteUrl == nil || identity.siteUrl == entry.siteUrl)
                && (identity.licenseActive == nil || identity.licenseActive == entry.licenseActive)
        }
    }

    /// Called after a successful write, so a failed one is tried again on the next request.
    public func note(_ identity: FITIdentity, at now: Int64) {
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll() }
            let previous = entries[identity.installationId]
            entries[identity.installationId] = Written(
                cloudId: identity.cloudId, apiBaseUrl: identity.apiBaseUrl,
                siteUrl: identity.siteUrl ?? previous?.siteUrl,
                licenseActive: identity.licenseActive ?? previous?.licenseActive, at: now)
        }
    }
}
