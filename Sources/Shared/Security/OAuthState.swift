public import Crypto
public import Foundation

/// The `state` of the Microsoft connect flow (docs/design-notes.md §5, OAuth state).
///
/// Format: `base64url(payload) "." base64url(HMAC-SHA256(REPORTS_STATE_KEY, payload))`, where payload
/// is the JSON object `{"accountId","browser","exp","installationId","nonce"}` (keys sorted, no spaces;
/// `exp` in seconds since the epoch; `browser` is the hash of the connect cookie of the browser that
/// started the flow, `ConnectBrowserBinding`). The MAC is checked over the received bytes in constant
/// time before the JSON is read. Lifetime 10 minutes; each nonce is accepted once (`OAuthNonceStore`).
/// The same format under a derived key and a 2-minute lifetime makes the one-time start tokens.
///
/// The nonce doubles as the PKCE verifier reference: the verifier is
/// `base64url(HMAC-SHA256(REPORTS_STATE_KEY, "pkce-verifier|" + nonce))`, so nothing is stored until the
/// callback, and only the holder of the state key can derive it.
public struct OAuthState: Sendable {
    public static let lifetime: Duration = .seconds(600)

    public struct Fields: Sendable, Codable, Equatable {
        public let accountId: String
        /// `ConnectBrowserBinding.hash` of the browser's connect cookie; absent in start tokens.
        public let browser: String?
        public let exp: Int64
        public let installationId: String
        public let nonce: String

        public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(exp)) }
    }

    /// A fresh state and the PKCE values that go with it.
    public struct Issued: Sendable {
        public let state: String
        public let fields: Fields
        public let codeVerifier: Secret
        /// `base64url(SHA-256(verifier))`, sent with `code_challenge_method=S256`.
        public let codeChallenge: String
    }

    private let key: SymmetricKey
    private let lifetime: Duration
    private let now: @Sendable () -> Date

    public init(
        key: SymmetricKey, lifetime: Duration = OAuthState.lifetime, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.key = key
        self.lifetime = lifetime
        self.now = now
    }

    public func issue(installationId: String, accountId: String, browser: String? = nil) -> Issued {
        let nonce = Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
        let fields = Fields(
            accountId: accountId, browser: browser,
            exp: Int64(now().timeIntervalSince1970) + Int64(lifetime.components.seconds),
            installationId: installationId, nonce: nonce)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = (try? encoder.encode(fields)) ?? Data()
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        let verifier = codeVerifier(nonce: nonce)
        return Issued(
            state: Base64URL.encode(payload) + "." + Base64URL.encode(Data(mac)),
            fields: fields, codeVerifier: verifier, codeChallenge: Self.challenge(for: verifier))
    }

    /// Checks the MAC, then the lifetime. Does not consume the nonce: do that with `OAuthNonceStore`.
    public func verify(_ state: String) throws(OAuthStateError) -> Fields {
        let parts = state.split(separator: ".", omittingEmptySubsequences: false)
        guard state.utf8.count <= 2048, parts.count == 2,
            let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1])
        else { throw .invalid }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else { throw .invalid }
        guard let fields = try? JSONDecoder().decode(Fields.self, from: payload) else { throw .invalid }
        guard Double(fields.exp) > now().timeIntervalSince1970 else { throw .expired }
        return fields
    }

    public func codeVerifier(nonce: String) -> Secret {
        Secret(
            Base64URL.encode(
                Data(HMAC<SHA256>.authenticationCode(for: Data("pkce-verifier|\(nonce)".utf8), using: key))))
    }

    static func challenge(for verifier: Secret) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(verifier.revealed.utf8))))
    }
}

public struct OAuthStateError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable { case invalid, expired, replayed }
    private let code: Code
    public let message: String
    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
    public static func == (lhs: OAuthStateError, rhs: OAuthStateError) -> Bool { lhs.code == rhs.code }

    /// A stable word for API errors and logs.
    public var codeName: String {
        switch code {
        case .invalid: "invalid_state"
        case .expired: "expired_state"
        case .replayed: "reused_state"
        }
    }

    public static let invalid = OAuthStateError(.invalid, "the sign-in link is not valid")
    static let expired = OAuthStateError(.expired, "the sign-in link has expired; start again")
    public static let replayed = OAuthStateError(.replayed, "the sign-in link was already used; start again")
}
