public import Atlassian
public import Foundation
public import JobQueue
public import Microsoft
public import Rendering
public import Reports
public import Security
import Upstream

/// The run-report handler's store operations over the SQLite file: the installation and connection
/// stores, and `LeasedRunWrites` for the run's lifecycle.
public struct SQLiteRunReportStores: RunReportStores {
    public let database: ReportsDatabase
    private let installations: InstallationStore
    private let connections: MicrosoftConnectionStore
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, vault: TokenVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.installations = InstallationStore(database: database, vault: vault, now: now)
        self.connections = MicrosoftConnectionStore(database: database, vault: vault, now: now)
        self.now = now
    }

    public func leasedRun(_ lease: JobLease, reportId: String, runId: String) -> any LeasedRunRecorder {
        LeasedRunWrites(database: database, lease: lease, reportId: reportId, runId: runId, now: now)
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

extension RunReportHandler {
    /// The handler over the SQLite stores: what `worker run` and the in-process tests use.
    public init(
        database: ReportsDatabase, vault: TokenVault, atlassian: AtlassianClient, microsoft: MicrosoftIdentityClient,
        writer: OneNoteWriter, renderer: OneNotePageRenderer = OneNotePageRenderer(), issueCap: Int = 5000,
        limiter: OneNoteRateLimiter? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.init(
            stores: SQLiteRunReportStores(database: database, vault: vault, now: now), vault: vault,
            atlassian: atlassian,
            microsoftTokens: MicrosoftTokenBroker(database: database, vault: vault, microsoft: microsoft, now: now),
            writer: writer, renderer: renderer, issueCap: issueCap, limiter: limiter, now: now)
    }
}
