public import Foundation
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
    public let storage: PostgresStorageReadings

    public init(
        database: PostgresReportsDatabase, vault: TokenVault, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
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
        storage = PostgresStorageReadings(database: database, now: now)
    }

    public var stores: ServiceStores {
        ServiceStores(
            installations: installations, reports: reports, runs: runs, connections: connections, pending: pending,
            nonces: nonces, storage: storage, queue: queue,
            administration: PostgresSiteAdministrationStore(database: database))
    }
}
