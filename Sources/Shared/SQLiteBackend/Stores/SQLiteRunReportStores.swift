public import Foundation
public import JobQueue
public import Reports
public import Security

/// The run-report handler's store operations over the SQLite file: the installation store
/// and `LeasedRunWrites` for the run's lifecycle.
public struct SQLiteRunReportStores: RunReportStores {
    public let database: ReportsDatabase
    private let installations: InstallationStore
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.installations = InstallationStore(database: database, vault: vault, now: now)
        self.now = now
    }

    public func leasedRun(_ lease: JobLease, reportId: String) -> any RunPageRecorder {
        LeasedRunWrites(database: database, lease: lease, reportId: reportId, now: now)
    }

    public func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        try await installations.systemToken(installationId: installationId)
    }

    public func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool {
        try await installations.dropSystemToken(installationId: installationId, ifStill: token)
    }
}
