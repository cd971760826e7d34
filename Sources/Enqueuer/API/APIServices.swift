import Foundation
import Logging
import Shared

/// Everything the routes use, built once at start from the configuration.
struct APIServices: Sendable {
    let database: ReportsDatabase
    let queue: SQLiteJobQueue
    let verifier: FITVerifier
    let installations: InstallationStore
    let reports: ReportStore
    let runs: RunStore
    let connections: MicrosoftConnectionStore
    let oauthState: OAuthState
    let nonces: OAuthNonceStore
    let microsoft: MicrosoftIdentityClient
    let graph: GraphClient
    let jira: JiraClient
    let metrics: APIMetrics

    init(
        database: ReportsDatabase, forge: ForgeConfiguration, security: SecurityConfiguration, upstream: UpstreamConfiguration,
        transport: any HTTPTransport, logger: Logger, metrics: APIMetrics = APIMetrics(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        let vault = TokenVault(keys: security.tokenKeys)
        self.database = database
        queue = SQLiteJobQueue(database: database, now: now)
        verifier = FITVerifier(configuration: forge, transport: transport, logger: logger, now: now)
        installations = InstallationStore(database: database, vault: vault, now: now)
        reports = ReportStore(database: database, now: now)
        runs = RunStore(database: database, queue: queue, vault: vault, now: now)
        connections = MicrosoftConnectionStore(database: database, vault: vault, now: now)
        oauthState = OAuthState(key: security.stateKey, now: now)
        nonces = OAuthNonceStore(database: database, now: now)
        microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
        graph = GraphClient(baseURL: upstream.microsoftGraphBaseURL, transport: transport)
        jira = JiraClient(transport: transport)
        self.metrics = metrics
    }
}
