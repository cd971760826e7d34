public import Foundation
public import ReportsSupport
public import Transport

/// How the API checks Forge Invocation Tokens.
public struct ForgeConfiguration: Sendable {
    public static let productionJWKSURL = URL(string: "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json")!

    /// The app's full ARI, `ari:cloud:ecosystem::app/<uuid>` (`FORGE_APP_ID`): `aud` and `app.id` must equal it.
    public var appId: String
    /// Where Atlassian's signing keys are (`FORGE_JWKS_URL`); trusted by configuration only, never by a claim.
    public var jwksURL: URL
    /// Refuse a token whose `jti` was seen before (`FORGE_REJECT_REPLAYED_FIT=1`). Off by default:
    /// Forge retries a trigger up to four times, possibly with the same token.
    public var rejectReplayedTokens: Bool
    /// The key of the app's admin page module (`FORGE_ADMIN_MODULE_KEY`, the manifest's
    /// `jira:adminPage` key): only calls from that module reach the admin routes.
    public var adminModuleKey = ForgeConfiguration.defaultAdminModuleKey
    public static let defaultAdminModuleKey = "onenote-reports-admin"
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    var leeway: Duration
    /// Which `app.apiBaseUrl` values are acceptable (HTTPS; loopback HTTP in sandbox mode).
    var urlPolicy: OutboundURLPolicy

    public init(
        appId: String, jwksURL: URL = ForgeConfiguration.productionJWKSURL, rejectReplayedTokens: Bool = false,
        leeway: Duration = .seconds(10), urlPolicy: OutboundURLPolicy = .production
    ) {
        self.appId = appId
        self.jwksURL = jwksURL
        self.rejectReplayedTokens = rejectReplayedTokens
        self.leeway = leeway
        self.urlPolicy = urlPolicy
    }

    public init(environment: [String: String], urlPolicy: OutboundURLPolicy) throws(ConfigurationError) {
        guard let appId = environment["FORGE_APP_ID"], !appId.isEmpty else {
            throw ConfigurationError(
                variable: "FORGE_APP_ID", problem: "is not set; use the app's full ARI, ari:cloud:ecosystem::app/<uuid>"
            )
        }
        guard appId.hasPrefix("ari:cloud:ecosystem::app/"), appId.count > "ari:cloud:ecosystem::app/".count,
            appId.count <= 200
        else {
            throw ConfigurationError(
                variable: "FORGE_APP_ID", problem: "must be the app's full ARI, ari:cloud:ecosystem::app/<uuid>")
        }
        var jwksURL = Self.productionJWKSURL
        if let text = environment["FORGE_JWKS_URL"] {
            guard let url = URL(string: text), urlPolicy.permits(url) else {
                throw ConfigurationError(
                    variable: "FORGE_JWKS_URL",
                    problem: "must be an https:// URL (http:// to loopback only in sandbox mode)")
            }
            jwksURL = url
        }
        var reject = false
        switch environment["FORGE_REJECT_REPLAYED_FIT"] {
        case nil, "", "0": reject = false
        case "1": reject = true
        default: throw ConfigurationError(variable: "FORGE_REJECT_REPLAYED_FIT", problem: "must be 0 or 1")
        }
        self.init(appId: appId, jwksURL: jwksURL, rejectReplayedTokens: reject, urlPolicy: urlPolicy)
        if let key = environment["FORGE_ADMIN_MODULE_KEY"] {
            // The manifest's rule for a module key.
            guard (1...100).contains(key.count),
                key.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_")
                })
            else {
                throw ConfigurationError(
                    variable: "FORGE_ADMIN_MODULE_KEY",
                    problem: "must be the manifest's admin page key: letters, digits, '-' and '_' (at most 100)")
            }
            adminModuleKey = key
        }
    }
}
