public import Foundation
public import JobQueue
public import Reports
public import Security

/// The run-report handler's store operations on PostgreSQL: the installation and connection stores,
/// and `PostgresLeasedRunWrites` for the run's lifecycle.
public struct PostgresRunReportStores: RunReportStores {
    public let database: PostgresReportsDatabase
    private let installations: PostgresInstallationStore
    private let connections: PostgresConnectionStore
    private let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        installations = PostgresInstallationStore(database: database, vault: vault, now: now)
        connections = PostgresConnectionStore(database: database, vault: vault, now: now)
        self.now = now
    }

    public func leasedRun(_ lease: JobLease, reportId: String, runId: String) -> any LeasedRunRecorder {
        PostgresLeasedRunWrites(database: database, lease: lease, reportId: reportId, runId: runId, now: now)
    }

    public func installation(_ id: String) async throws -> Installation? {
        try await installations.installation(id)
    }

    public func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)? {
        try await installations.systemToken(installationId: installationId)
    }

    public func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool {
        try await installations.dropSystemToken(installationId: installationId, ifStill: token)
    }

    public func microsoftUserId(_ owner: ReportOwner) async throws -> String? {
        try await connections.connection(owner)?.microsoftUserId
    }

    public func markReconnectRequired(_ owner: ReportOwner, lease: JobLease?) async throws {
        try await connections.markReconnectRequired(owner, lease: lease)
    }
}
