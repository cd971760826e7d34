import Atlassian
public import Foundation
import JobQueue
public import Logging
public import Microsoft
public import Reports
import ReportsSupport
public import Security
public import Transport
public import Upstream

/// Everything the routes use, built once at start from the configuration.
public struct APIServices: Sendable {
    /// This API process's name for its OneNote budget slots.
    package static let processId =
        "enqueuer-serve-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    let queue: any JobQueue
    let verifier: FITVerifier
    let installations: any InstallationRecords
    let reports: any ReportDefinitions
    let runs: any RunRequests
    let connections: any MicrosoftConnections
    let oauthState: OAuthState
    /// One-time start URLs of the connect flow: the state's format under a derived key, 2 minutes.
    let startTokens: OAuthState
    let nonces: any OAuthNonces
    /// Connections waiting for the user's confirmation.
    let pending: any PendingConnections
    /// Health, lateness and whether an error means the storage cannot be used now.
    let storage: any StorageReadings
    /// Our own origin, as the redirect URI names it: the start URL lives there, so its cookie reaches
    /// the callback.
    let publicBase: URL
    let microsoft: MicrosoftIdentityClient
    /// Access tokens shared with the workers: one refresh at a time per connection.
    let tokens: MicrosoftTokenBroker
    let graph: GraphClient
    let jira: JiraClient
    /// The site's field list per user, for the column picker's searches.
    let fieldLists: FieldListCache
    public let metrics: APIMetrics
    /// "Storage unavailable" is logged once a minute per cause, across the API's middlewares.
    let storageLog = ThrottledLog()
    /// The OneNote budget the API's own OneNote calls (section listing) draw from, shared with the
    /// workers; an API request waits a few seconds for it at most.
    let onenoteBudget: any OneNoteBudget
    /// Whether Run now and schedule changes need an active licence (`REPORTS_REQUIRE_LICENSE`).
    public var license: LicensePolicy
    /// The quotas the stores enforce, as the admin page shows them.
    public var limits: TenantLimits
    /// What the admin page reads of a site, and its schedule switch.
    let administration: any SiteAdministrationStorage
    /// The manifest key of the admin page: the admin routes answer only calls from it.
    let adminModuleKey: String
    /// The service's clock.
    let now: @Sendable () -> Date

    /// The routes' services over `stores` (one backend's, picked by `ReportsStorage`); `microsoft` is
    /// the identity client `tokens` uses too; `onenoteBudget` is shared with the workers.
    public init(
        stores: ServiceStores, tokens: MicrosoftTokenBroker, onenoteBudget: any OneNoteBudget,
        forge: ForgeConfiguration, security: SecurityConfiguration,
        upstream: UpstreamConfiguration, microsoft: MicrosoftIdentityClient, transport: any HTTPTransport,
        logger: Logger, metrics: APIMetrics = APIMetrics(), license: LicensePolicy = .init(),
        limits: TenantLimits = .init(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.license = license
        self.limits = limits
        self.now = now
        administration = stores.administration
        adminModuleKey = forge.adminModuleKey
        queue = stores.queue
        verifier = FITVerifier(configuration: forge, transport: transport, logger: logger, now: now)
        installations = stores.installations
        reports = stores.reports
        runs = stores.runs
        connections = stores.connections
        oauthState = OAuthState(key: security.stateKey, now: now)
        startTokens = OAuthState(
            key: ConnectBrowserBinding.startTokenKey(stateKey: security.stateKey),
            lifetime: ConnectBrowserBinding.startLifetime, now: now)
        nonces = stores.nonces
        pending = stores.pending
        storage = stores.storage
        var origin = URLComponents(url: upstream.microsoftRedirectURI, resolvingAgainstBaseURL: false)!
        origin.path = "/"
        origin.query = nil
        publicBase = origin.url!
        self.microsoft = microsoft
        self.tokens = tokens
        graph = GraphClient(baseURL: upstream.microsoftGraphBaseURL, transport: transport)
        jira = JiraClient(transport: transport)
        fieldLists = FieldListCache(now: now)
        self.metrics = metrics
        self.onenoteBudget = onenoteBudget
    }
}
