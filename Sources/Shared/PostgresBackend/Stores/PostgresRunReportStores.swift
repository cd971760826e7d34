public import Foundation
public import JobQueue
public import Reports
public import Security

/// The run-report handler's store operations on PostgreSQL: the installation store and
/// `PostgresLeasedRunWrites` for the run's lifecycle.
public struct PostgresRunReportStores: RunReportStores {
    public let database: PostgresReportsDatabase
    private let installations: PostgresInstallationStore
    private let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        installations = PostgresInstallationStore(database: database, vault: vault, now: now)
        self.now = now
    }

    public func leasedRun(_ lease: JobLease, reportId: String) -> any RunPageRecorder {
        PostgresLeasedRunWrites(database: database, lease: lease, reportId: reportId, now: now)
    }

    public func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        try await installations.systemToken(installationId: installationId)
    }

    public func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool {
        try await installations.dropSystemToken(installationId: installationId, ifStill: token)
    }
}
