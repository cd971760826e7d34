import Atlassian
package import Foundation
import JobQueueSQLite
package import Logging
import Microsoft
package import Reports
package import ReportsSQLite
import ReportsSupport
package import SQLiteStorage
package import Security
package import Transport
package import Upstream

/// Everything the routes use, built once at start from the configuration.
package struct APIServices: Sendable {
    /// This API process's name for its OneNote budget slots.
    package static let processId =
        "enqueuer-serve-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    let database: ReportsDatabase
    let queue: SQLiteJobQueue
    let verifier: FITVerifier
    let installations: InstallationStore
    let reports: ReportStore
    let runs: RunStore
    package let connections: MicrosoftConnectionStore
    package let oauthState: OAuthState
    /// One-time start URLs of the connect flow: the state's format under a derived key, 2 minutes.
    let startTokens: OAuthState
    let nonces: OAuthNonceStore
    /// Connections waiting for the user's confirmation.
    let pending: PendingConnectionStore
    /// Our own origin, as the redirect URI names it: the start URL lives there, so its cookie reaches
    /// the callback.
    let publicBase: URL
    let microsoft: MicrosoftIdentityClient
    /// Access tokens shared with the workers: one refresh at a time per connection.
    let tokens: MicrosoftTokenBroker
    let graph: GraphClient
    let jira: JiraClient
    package let metrics: APIMetrics
    /// "Storage unavailable" is logged once a minute per cause, across the API's middlewares.
    let storageLog = ThrottledLog()
    /// The OneNote budget the API's own OneNote calls (section listing) draw from, shared with the
    /// workers; an API request waits a few seconds for it at most.
    package let onenoteBudget: OneNoteRateLimiter

    package init(
        database: ReportsDatabase, forge: ForgeConfiguration, security: SecurityConfiguration,
        upstream: UpstreamConfiguration,
        transport: any HTTPTransport, logger: Logger, metrics: APIMetrics = APIMetrics(),
        limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let vault = TokenVault(keys: security.tokenKeys)
        self.database = database
        queue = SQLiteJobQueue(database: database, now: now)
        verifier = FITVerifier(configuration: forge, transport: transport, logger: logger, now: now)
        installations = InstallationStore(database: database, vault: vault, now: now)
        reports = ReportStore(database: database, limits: limits, now: now)
        runs = RunStore(
            database: database, queue: queue, vault: vault, runNowPerMinute: limits.runNowPerMinute, now: now)
        connections = MicrosoftConnectionStore(database: database, vault: vault, now: now)
        oauthState = OAuthState(key: security.stateKey, now: now)
        startTokens = OAuthState(
            key: ConnectBrowserBinding.startTokenKey(stateKey: security.stateKey),
            lifetime: ConnectBrowserBinding.startLifetime, now: now)
        nonces = OAuthNonceStore(database: database, now: now)
        pending = PendingConnectionStore(database: database, vault: vault, now: now)
        var origin = URLComponents(url: upstream.microsoftRedirectURI, resolvingAgainstBaseURL: false)!
        origin.path = "/"
        origin.query = nil
        publicBase = origin.url!
        microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
        tokens = MicrosoftTokenBroker(database: database, vault: vault, microsoft: microsoft, now: now)
        graph = GraphClient(baseURL: upstream.microsoftGraphBaseURL, transport: transport)
        jira = JiraClient(transport: transport)
        self.metrics = metrics
        onenoteBudget = OneNoteRateLimiter(
            database: database, perMinute: limits.onenotePerMinute, perHour: limits.onenotePerHour,
            maxWait: .seconds(5), holder: "\(Self.processId):\(UUID().uuidString.lowercased())", now: now)
    }
}
