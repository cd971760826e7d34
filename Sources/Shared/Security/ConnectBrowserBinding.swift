public import Crypto
import Foundation

/// Binds the Microsoft connect flow to the browser that started it (login CSRF). Before,
/// the signed state bound the flow only to the Jira account that asked for it, so an attacker could
/// start a connect on a Jira site of their own and send the authorize link to a victim, whose Microsoft
/// account then ended up under the attacker's Jira account.
///
/// Now the app gets a one-time start URL on our host. Opening it sets a `__Host-` cookie (Secure,
/// HttpOnly, SameSite=Lax, the whole host, 10 minutes) holding a random secret, and the state sent to
/// Microsoft carries the secret's SHA-256. The callback, and then the confirmation, require the cookie
/// whose hash the state names: a link that leaves the browser that started the flow is useless there.
/// The secret lives only in that browser; we keep nothing but its hash inside the signed state.
public enum ConnectBrowserBinding {
    /// `__Host-`: the browser accepts it only with Secure, Path=/ and no Domain, so no other host or
    /// path can set or shadow it (RFC 6265bis, cookie prefixes).
    package static let cookieName = "__Host-reports-connect"
    public static let lifetime: Duration = OAuthState.lifetime
    /// How long a start URL can be opened: the app opens it at once.
    public static let startLifetime: Duration = .seconds(120)

    /// A fresh browser secret (the cookie's value).
    public static func makeSecret() -> String {
        Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    /// What the state carries: base64url(SHA-256(secret)).
    public static func hash(of secret: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(secret.utf8))))
    }

    /// True when `cookie` is the secret whose hash is `expected`, compared in constant time.
    public static func matches(cookie: String?, expected: String?) -> Bool {
        guard let cookie, let expected, !cookie.isEmpty, cookie.utf8.count <= 128 else { return false }
        let actual = Data(hash(of: cookie).utf8)
        let wanted = Data(expected.utf8)
        guard actual.count == wanted.count else { return false }
        return zip(actual, wanted).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The `Set-Cookie` value that sets the secret for the connect flow's lifetime.
    public static func setCookie(_ secret: String) -> String {
        "\(cookieName)=\(secret); Max-Age=\(lifetime.components.seconds); Path=/; Secure; HttpOnly; SameSite=Lax"
    }

    /// The `Set-Cookie` value that removes it once the flow is over.
    public static let clearCookie = "\(cookieName)=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"

    /// The cookie's value in a `Cookie` request header, if present.
    public static func cookie(in header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            if trimmed.hasPrefix(cookieName + "=") { return String(trimmed.dropFirst(cookieName.count + 1)) }
        }
        return nil
    }

    /// The key start tokens are signed with: derived from the state key for this one purpose, so a
    /// start token is never a valid state nor a state a valid start token.
    public static func startTokenKey(stateKey: SymmetricKey) -> SymmetricKey {
        SymmetricKey(
            data: Data(
                HMAC<SHA256>.authenticationCode(for: Data("onenote-reports connect-start v1".utf8), using: stateKey)))
    }
}
