public import Foundation
public import Reports
public import Security

/// The SQLite stores behind the API, built together over one database. The concrete types stay
/// reachable for the operator commands and the tests; `stores` hands the API its protocols.
public struct SQLiteServiceStores: Sendable {
    public let database: ReportsDatabase
    public let queue: SQLiteJobQueue
    public let installations: InstallationStore
    public let reports: ReportStore
    public let runs: RunStore
    public let connections: MicrosoftConnectionStore
    public let pending: PendingConnectionStore
    public let nonces: OAuthNonceStore
    public let storage: SQLiteStorageReadings

    public init(
        database: ReportsDatabase, vault: TokenVault, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        queue = SQLiteJobQueue(database: database, now: now)
        installations = InstallationStore(database: database, vault: vault, now: now)
        reports = ReportStore(database: database, limits: limits, now: now)
        runs = RunStore(
            database: database, queue: queue, vault: vault, runNowPerMinute: limits.runNowPerMinute, now: now)
        connections = MicrosoftConnectionStore(database: database, vault: vault, now: now)
        pending = PendingConnectionStore(database: database, vault: vault, now: now)
        nonces = OAuthNonceStore(database: database, now: now)
        storage = SQLiteStorageReadings(database: database, now: now)
    }

    public var stores: ServiceStores {
        ServiceStores(
            installations: installations, reports: reports, runs: runs, connections: connections, pending: pending,
            nonces: nonces, storage: storage, queue: queue, administration: SiteAdministrationStore(database: database))
    }
}

/// Health, lateness and "storage unavailable" for the SQLite file.
public struct SQLiteStorageReadings: StorageReadings {
    public let database: ReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func isReadable() async -> Bool { await database.isReadable() }

    public func scheduleLateness() async throws -> ScheduleLateness {
        try await ScheduleLateness.measure(database, now: now())
    }

    public func unavailableReason(_ error: any Error) -> String? {
        StorageAvailability.isUnavailable(error) ? StorageAvailability.reason(error) : nil
    }
}

extension ReportStore: ReportDefinitions {}
extension InstallationStore: InstallationRecords {}
extension OAuthNonceStore: OAuthNonces {}
