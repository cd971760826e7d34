public import Foundation
import JWTKit
public import Logging
import ReportsSupport
import Synchronization
public import Transport

/// Verifies Forge Invocation Tokens (docs/design-notes.md §5, FIT; docs/atlassian-apis.md §1).
///
/// Cheap checks come first and need no crypto: size (16 KB), three base64url parts, a JSON header with
/// `alg` RS256 and a `kid`. The `kid` must be in the cached JWKS (jwt-kit would otherwise fall back to
/// another key). Then jwt-kit checks the RS256 signature, and this type checks the claims: `iss`,
/// `aud` (string or array) and `app.id` against `FORGE_APP_ID`, `exp`/`nbf`/`iat` with the leeway, and
/// optionally the `jti` replay cache.
public struct FITVerifier: Sendable {
    package static let maxTokenBytes = 16 * 1024
    static let issuer = "forge/invocation-token"

    let configuration: ForgeConfiguration
    public let keys: JWKSCache
    private let replayCache: ReplayCache?
    private let now: @Sendable () -> Date

    public init(configuration: ForgeConfiguration, keys: JWKSCache, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.keys = keys
        self.replayCache = configuration.rejectReplayedTokens ? ReplayCache() : nil
        self.now = now
    }

    public init(
        configuration: ForgeConfiguration, transport: any HTTPTransport, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            configuration: configuration,
            keys: JWKSCache(url: configuration.jwksURL, transport: transport, logger: logger), now: now)
    }

    /// Verifies the value of an `Authorization` header, which must be `Bearer <FIT>`.
    package func verify(authorization: Secret?) async throws(FITVerificationError) -> FITIdentity {
        guard let value = authorization?.revealed else { throw .malformed }
        let utf8 = value.utf8
        guard utf8.count > 7, utf8.count <= Self.maxTokenBytes + 7 else { throw .malformed }
        let scheme = utf8.prefix(7).map { $0 | 0x20 }  // ASCII lower case; "Bearer " has no byte it would spoil
        guard scheme.elementsEqual("bearer ".utf8) else { throw .malformed }
        return try await verify(token: Secret(String(decoding: utf8.dropFirst(7), as: UTF8.self)))
    }

    func verify(token: Secret) async throws(FITVerificationError) -> FITIdentity {
        let token = token.revealed
        let kid = try Self.frontEnd(token)
        let collection = try await keys.key(for: kid)
        let payload: FITPayload
        do {
            payload = try await collection.verify(token, as: FITPayload.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw .badSignature
        } catch {
            throw .malformed
        }
        return try check(payload)
    }

    /// Everything checked before any crypto: size, shape, header; returns the key id to look up.
    /// Package access for the fuzz target (Fuzz/).
    package static func frontEnd(_ token: String) throws(FITVerificationError) -> String {
        guard !token.isEmpty, token.utf8.count <= Self.maxTokenBytes else { throw .malformed }
        // Bytes, not Characters: splitting 2 KB by grapheme cluster costs more than the RSA check.
        let parts = token.utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed }
        guard let headerData = Base64URL.decode(bytes: parts[0]),
            let header = try? JSONDecoder().decode(JOSEHeader.self, from: headerData)
        else { throw .malformed }
        guard header.alg == "RS256" else { throw .unsupportedAlgorithm }
        guard let kid = header.kid, !kid.isEmpty, kid.utf8.count <= 256 else { throw .malformed }
        guard !parts[1].isEmpty, !parts[2].isEmpty, Base64URL.isCanonical(bytes: parts[1]),
            Base64URL.isCanonical(bytes: parts[2])
        else {
            throw .malformed
        }
        return kid
    }

    private func check(_ payload: FITPayload) throws(FITVerificationError) -> FITIdentity {
        guard payload.iss == Self.issuer else { throw .wrongIssuer }
        guard payload.aud.values.contains(configuration.appId), payload.app.id == configuration.appId else {
            throw .wrongAudience
        }
        let now = now().timeIntervalSince1970
        let leeway = configuration.leeway.timeInterval
        guard now <= payload.exp + leeway else { throw .expired }
        if let nbf = payload.nbf, now + leeway < nbf { throw .notYetValid }
        if let iat = payload.iat, now + leeway < iat { throw .notYetValid }

        guard let apiBaseUrl = URL(string: payload.app.apiBaseUrl), configuration.urlPolicy.permits(apiBaseUrl) else {
            throw .malformed("app.apiBaseUrl is not an acceptable URL")
        }
        guard let cloudId = payload.context?.cloudId ?? Self.cloudId(from: apiBaseUrl), !cloudId.isEmpty else {
            throw .malformed("the token names no cloud id")
        }
        if let replayCache {
            guard let jti = payload.jti, !jti.isEmpty else { throw .malformed("the token has no jti") }
            guard replayCache.firstUse(of: jti, until: payload.exp + leeway, now: now) else { throw .replayed }
        }
        var identity = FITIdentity(
            installationId: payload.app.installationId, appId: payload.app.id, apiBaseUrl: apiBaseUrl, cloudId: cloudId,
            environmentType: payload.app.environment.type, environmentId: payload.app.environment.id,
            moduleType: payload.app.module.type, moduleKey: payload.app.module.key,
            principalAccountId: payload.principal, tokenId: payload.jti,
            expiresAt: Date(timeIntervalSince1970: payload.exp),
            siteUrl: payload.context?.siteUrl.flatMap(URL.init(string:)).flatMap { $0.scheme == "https" ? $0 : nil })
        identity.licenseActive = payload.app.license?.isActive
        identity.contextModuleKey = payload.context?.moduleKey.flatMap { $0.isEmpty ? nil : $0 }
        return identity
    }

    /// `…/ex/jira/<cloudId>` (the form Forge gives Jira apps).
    package static func cloudId(from apiBaseUrl: URL) -> String? {
        let components = apiBaseUrl.pathComponents
        guard let index = components.firstIndex(of: "ex"), components.count > index + 2 else { return nil }
        return components[index + 2]
    }
}

/// The parts of the JOSE header checked before any crypto.
private struct JOSEHeader: Decodable {
    let alg: String?
    let kid: String?
}

/// `jti`s seen within their token's lifetime; entries leave once the token has expired.
final class ReplayCache: Sendable {
    private let seen = Mutex<[String: Double]>([:])

    func firstUse(of jti: String, until expiry: Double, now: Double) -> Bool {
        seen.withLock { seen in
            if seen.count > 10_000 { seen = seen.filter { $0.value >= now } }
            if let existing = seen[jti], existing >= now { return false }
            seen[jti] = expiry
            return true
        }
    }
}
