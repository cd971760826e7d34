import Crypto
import CryptoExtras
import Foundation
import Hummingbird
import JWTKit
import ReportsSupport
import Security
import Synchronization

/// Everything the sandbox remembers. One lock: the sandbox is a development tool, not a hot path.
final class SandboxState: Sendable {
    struct SigningKey: Sendable {
        let kid: String
        let collection: JWTKeyCollection
        let jwk: [String: String]
    }

    struct IssuedToken: Sendable {
        enum Kind: String, Sendable { case system, user, offline }
        let kind: Kind
        let accountId: String?
        let installationId: String
        let expiresAt: Date
    }

    struct AuthorizationCode: Sendable {
        let redirectURI: String
        let challenge: String
        let user: MicrosoftUser
        let expiresAt: Date
        var used: Bool
    }

    struct Mutable {
        var keys: [SigningKey] = []
        var codes: [String: AuthorizationCode] = [:]
        /// Refresh tokens rotate on every use; old ones stay valid until revoked (docs/microsoft-apis.md §1.6).
        var refreshTokens: [String: MicrosoftUser] = [:]
        var revokedBefore: Date?
        var accessTokens: [String: (expiresAt: Date, user: MicrosoftUser)] = [:]
        var counters: [String: Int] = [:]
        var random: SeedRandom
    }

    private let seedData: Mutex<SeedData>
    /// The seeded data as it is now (`POST /sandbox/issues/{key}` edits it).
    var seed: SeedData { seedData.withLock { $0 } }

    /// Changes an issue's summary and/or status; false if there is no such issue or status.
    func editIssue(key: String, summary: String?, status: String?) -> Bool {
        seedData.withLock { data in
            guard let index = data.issues.firstIndex(where: { $0.key == key }) else { return false }
            var statusValue = data.issues[index].status
            if let status {
                guard let found = SeedData.statuses.first(where: { $0.name == status }) else { return false }
                statusValue = found
            }
            let old = data.issues[index]
            data.issues[index] = SeedData.Issue(
                id: old.id, key: old.key, project: old.project, summary: summary ?? old.summary, status: statusValue,
                assignee: old.assignee,
                reporter: old.reporter, priority: old.priority, issueType: old.issueType, created: old.created,
                updated: Timestamp.milliseconds(Date()), labels: old.labels, visibleTo: old.visibleTo)
            return true
        }
    }
    let appId: String
    let installationId: String
    let cloudId: String
    let msClientId: String
    let msClientSecret: String
    /// The Microsoft user who signs in when the authorize request names none.
    let microsoftUser = MicrosoftUser.standard
    private let hmacKey = SymmetricKey(size: .bits256)
    private let state: Mutex<Mutable>

    init(
        seed: UInt64, issues: Int, archiveIssues: Int = 0, extraFilters: Int = 0, extraAccounts: Int = 0,
        msClientId: String, msClientSecret: String
    ) async throws {
        var random = SeedRandom(seed: seed)
        func uuid() -> String {
            let hex = (0..<4).map { _ in String(format: "%08x", UInt32(truncatingIfNeeded: random.nextUInt64())) }
                .joined()
            let characters = Array(hex)
            return
                "\(String(characters[0..<8]))-\(String(characters[8..<12]))-4\(String(characters[13..<16]))-8\(String(characters[17..<20]))-\(String(characters[20..<32]))"
        }
        appId = "ari:cloud:ecosystem::app/\(uuid())"
        installationId = "ari:cloud:ecosystem::installation/\(uuid())"
        cloudId = uuid()
        seedData = Mutex(
            SeedData(
                seed: seed, issueCount: issues, archiveIssues: archiveIssues, extraFilters: extraFilters,
                extraAccounts: extraAccounts))
        self.msClientId = msClientId
        self.msClientSecret = msClientSecret
        state = Mutex(Mutable(random: random))
        try await rotateKeys()
    }

    // MARK: Forge signing keys (docs/atlassian-apis.md §1.5)

    /// Adds a new RSA key and signs with it from now on; older keys stay in the JWKS.
    @discardableResult
    func rotateKeys() async throws -> String {
        let privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let kid =
            "forge/invocation-token/wf-sandbox-\(String(format: "%04d", state.withLock { $0.keys.count + 1 }))-\(UUID().uuidString.prefix(8).lowercased())"
        let collection = JWTKeyCollection()
        await collection.add(
            rsa: try Insecure.RSA.PrivateKey(backing: privateKey), digestAlgorithm: .sha256,
            kid: JWKIdentifier(string: kid))
        let primitives = try privateKey.publicKey.getKeyPrimitives()
        let jwk = [
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": Base64URL.encode(primitives.modulus), "e": Base64URL.encode(primitives.publicExponent),
        ]
        state.withLock { $0.keys.append(SigningKey(kid: kid, collection: collection, jwk: jwk)) }
        return kid
    }

    var jwks: [String: Any] { ["keys": state.withLock { $0.keys.map(\.jwk) }] }
    var currentKey: SigningKey { state.withLock { $0.keys.last! } }

    // MARK: Opaque tokens (system, user, offline user): HS256 JWTs with `exp` (docs/atlassian-apis.md §2)

    func issueToken(_ kind: IssuedToken.Kind, accountId: String?, installationId: String, ttl: Int) -> (
        token: String, expiresAt: Date
    ) {
        let expiresAt = Date().addingTimeInterval(TimeInterval(ttl))
        var claims: [String: Any] = [
            "kind": kind.rawValue, "installationId": installationId, "exp": Int(expiresAt.timeIntervalSince1970),
            "jti": UUID().uuidString,
        ]
        if let accountId { claims["sub"] = accountId }
        let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(Data(JSONText.serialize(claims).utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: hmacKey)
        return ("\(header).\(payload).\(Base64URL.encode(Data(mac)))", expiresAt)
    }

    /// The token behind `Authorization: Bearer …`, if it is ours, unexpired and of an accepted kind.
    func verifyToken(_ authorization: String?, kinds: Set<IssuedToken.Kind>) -> IssuedToken? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let parts = authorization.dropFirst(7).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let mac = Base64URL.decode(parts[2]),
            HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: hmacKey),
            let payload = Base64URL.decode(parts[1]),
            let claims = try? JSONSerialization.jsonObject(with: payload) as? [String: Any],
            let kind = (claims["kind"] as? String).flatMap(IssuedToken.Kind.init), kinds.contains(kind),
            let exp = (claims["exp"] as? NSNumber)?.doubleValue, exp > Date().timeIntervalSince1970,
            let installation = claims["installationId"] as? String
        else { return nil }
        return IssuedToken(
            kind: kind, accountId: claims["sub"] as? String, installationId: installation,
            expiresAt: Date(timeIntervalSince1970: exp))
    }

    // MARK: Microsoft identity (docs/microsoft-apis.md §1)

    func issueCode(redirectURI: String, challenge: String, user: MicrosoftUser) -> String {
        let code = "sandbox-code-" + UUID().uuidString
        state.withLock {
            $0.codes[code] = AuthorizationCode(
                redirectURI: redirectURI, challenge: challenge, user: user, expiresAt: Date().addingTimeInterval(600),
                used: false)
        }
        return code
    }

    /// Consumes a code once; nil if unknown, used or expired.
    func redeemCode(_ code: String) -> AuthorizationCode? {
        state.withLock { state in
            guard var entry = state.codes[code], !entry.used, entry.expiresAt > Date() else { return nil }
            entry.used = true
            state.codes[code] = entry
            return entry
        }
    }

    /// New access and refresh tokens; `expires_in` between 3,600 and 5,400 s (docs/microsoft-apis.md §1.5: 60–90 min).
    func issueMicrosoftTokens(for user: MicrosoftUser) -> (access: String, refresh: String, expiresIn: Int) {
        state.withLock { state in
            let expiresIn = 3600 + state.random.next(1801)
            let access = "sandbox-access-" + UUID().uuidString
            let refresh = "sandbox-refresh-" + UUID().uuidString
            state.accessTokens[access] = (Date().addingTimeInterval(TimeInterval(expiresIn)), user)
            state.refreshTokens[refresh] = user
            return (access, refresh, expiresIn)
        }
    }

    /// The user a refresh token was issued to, while it is valid.
    func refreshTokenUser(_ token: String) -> MicrosoftUser? {
        state.withLock { $0.refreshTokens[token] }
    }

    /// `POST /sandbox/revoke`: every refresh token issued so far stops working.
    /// The user revoked the app's access: refreshes fail with `invalid_grant`, and Graph refuses the
    /// access tokens already issued (the strict reading: a revoked user is noticed at the next call, not
    /// when a cached access token runs out an hour later).
    func revokeRefreshTokens() {
        state.withLock { state in
            state.refreshTokens.removeAll()
            state.accessTokens.removeAll()
            state.revokedBefore = Date()
        }
    }

    /// The user behind `Authorization: Bearer …`, if the access token is ours and unexpired.
    func accessTokenUser(_ authorization: String?) -> MicrosoftUser? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let token = String(authorization.dropFirst(7))
        return state.withLock { state in
            guard let entry = state.accessTokens[token], entry.expiresAt > Date() else { return nil }
            return entry.user
        }
    }

    // MARK: The app's licence on this site

    private let licenseClaim = Mutex<Bool?>(nil)

    /// What the tokens minted from now on say about the site's licence (docs/atlassian-apis.md §10):
    /// active, not active, or nothing (nil, as in development). `POST /sandbox/license` sets it.
    var license: Bool? {
        get { licenseClaim.withLock { $0 } }
        set { licenseClaim.withLock { $0 = newValue } }
    }

    // MARK: Who administers the site

    private let administrators = Mutex<Set<String>>([SeedData.siteAdmin.accountId])

    /// Whether `accountId` holds the global permission "Administer Jira" (`GET /mypermissions`);
    /// `POST /sandbox/site-admins` grants and revokes it.
    func isSiteAdmin(_ accountId: String) -> Bool { administrators.withLock { $0.contains(accountId) } }

    func setSiteAdmin(_ accountId: String, _ admin: Bool) {
        administrators.withLock { if admin { $0.insert(accountId) } else { $0.remove(accountId) } }
    }

    // MARK: Where the sandbox is

    private let publicOrigin = Mutex<String?>(nil)

    /// Set once the port is known (`serve` does it when listening): URLs the sandbox hands out then
    /// point here whatever `Host` a client sent.
    func setOrigin(_ origin: String) { publicOrigin.withLock { $0 = origin } }

    func origin(for request: Request) -> String {
        publicOrigin.withLock { $0 } ?? SandboxHTTP.origin(request)
    }

    // MARK: Counters

    func count(_ route: String) { state.withLock { $0.counters[route, default: 0] += 1 } }
    var counters: [String: Int] { state.withLock { $0.counters } }
}
