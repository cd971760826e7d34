public import Atlassian
public import Foundation
public import Microsoft
public import Rendering
public import Reports
public import Security

/// The PostgreSQL stores behind the API, built together over one database (like `SQLiteServiceStores`).
public struct PostgresServiceStores: Sendable {
    public let database: PostgresReportsDatabase
    public let queue: PostgresJobQueue
    public let installations: PostgresInstallationStore
    public let reports: PostgresReportStore
    public let runs: PostgresRunStore
    public let connections: PostgresConnectionStore
    public let pending: PostgresPendingConnectionStore
    public let nonces: PostgresOAuthNonceStore
    public let tokens: MicrosoftTokenBroker
    /// The API's OneNote slots; the process's `OneNoteRateLimiter.Keeper` renews them.
    public let onenoteBudget: OneNoteRateLimiter
    public let storage: PostgresStorageReadings

    /// `budgetHolder` names the process's OneNote slots (`<process>:<instance>`).
    public init(
        database: PostgresReportsDatabase, vault: TokenVault, microsoft: MicrosoftIdentityClient,
        limits: TenantLimits = TenantLimits(), budgetHolder: String, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        queue = PostgresJobQueue(database: database, now: now)
        installations = PostgresInstallationStore(database: database, vault: vault, now: now)
        reports = PostgresReportStore(database: database, limits: limits, now: now)
        runs = PostgresRunStore(
            database: database, queue: queue, vault: vault, runNowPerMinute: limits.runNowPerMinute, now: now)
        connections = PostgresConnectionStore(database: database, vault: vault, now: now)
        pending = PostgresPendingConnectionStore(database: database, vault: vault, now: now)
        nonces = PostgresOAuthNonceStore(database: database, now: now)
        tokens = MicrosoftTokenBroker(database: database, vault: vault, microsoft: microsoft, now: now)
        // An API request waits a few seconds for a busy slot at most.
        onenoteBudget = OneNoteRateLimiter(
            storage: PostgresOneNoteBudgetStorage(database: database), perMinute: limits.onenotePerMinute,
            perHour: limits.onenotePerHour,
            maxWait: .seconds(5), holder: budgetHolder, now: now)
        storage = PostgresStorageReadings(database: database, now: now)
    }

    public var stores: ServiceStores {
        ServiceStores(
            installations: installations, reports: reports, runs: runs, connections: connections, pending: pending,
            nonces: nonces, storage: storage, queue: queue)
    }
}
