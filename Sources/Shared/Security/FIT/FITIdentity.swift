public import Foundation

/// Who called, as a verified Forge Invocation Token says. Every tenant-scoped query keys on
/// `installationId`; `apiBaseUrl` is the only base URL used for product calls.
public struct FITIdentity: Sendable, Equatable {
    public let installationId: String
    public let appId: String
    public let apiBaseUrl: URL
    public let cloudId: String
    let environmentType: String
    let environmentId: String?
    let moduleType: String
    let moduleKey: String
    /// The invoking user (UI calls); scheduled triggers and lifecycle events have none.
    public let principalAccountId: String?
    let tokenId: String?
    public let expiresAt: Date
    /// The site's own URL (`https://<site>.atlassian.net`) when the FIT's context names it.
    public var siteUrl: URL?
    /// Whether the site's licence of the app is active (`app.license.isActive`); nil when the token
    /// says nothing about a licence (a free app, or any app outside production).
    public var licenseActive: Bool?
    /// The module the call came from: `context.moduleKey` when the token's context names one (a call
    /// from a UI module carries that module's key there), else `app.module.key`. Forge signs both,
    /// so a caller cannot choose it (docs/atlassian-apis.md §1.3, §11).
    public var invokingModuleKey: String { contextModuleKey ?? moduleKey }
    var contextModuleKey: String?

    public init(
        installationId: String, appId: String, apiBaseUrl: URL, cloudId: String, environmentType: String,
        environmentId: String?, moduleType: String, moduleKey: String, principalAccountId: String?,
        tokenId: String?, expiresAt: Date, siteUrl: URL? = nil
    ) {
        self.installationId = installationId
        self.appId = appId
        self.apiBaseUrl = apiBaseUrl
        self.cloudId = cloudId
        self.environmentType = environmentType
        self.environmentId = environmentId
        self.moduleType = moduleType
        self.moduleKey = moduleKey
        self.principalAccountId = principalAccountId
        self.tokenId = tokenId
        self.expiresAt = expiresAt
        self.siteUrl = siteUrl
    }
}
