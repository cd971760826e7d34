public import Foundation
public import JobQueue
import Logging
import Rendering
public import Security
import Upstream

/// What the `run-report` handler reads and writes, as domain operations. The handler knows
/// no database: `SQLiteBackend` implements these over the SQLite file, and `PostgresBackend` implements
/// the same operations behind the same conformance tests.
public protocol RunReportStores: Sendable {
    /// The writes of one leased run while the destination writes its page, each conditioned on the
    /// job's lease (refused with `LeaseLostError` once it is lost). The run was marked running with the
    /// lease (`RunClaim`); how the attempt ends rides on the job's settle (`RunFollowsJob`).
    func leasedRun(_ lease: JobLease, reportId: String) -> any RunPageRecorder
    /// The newest app system token of an installation with its (capped) expiry.
    func systemToken(installationId: String) async throws -> (token: Secret, expiresAt: Date)?
    /// Forgets a system token Atlassian refused, if it is still the stored one.
    @discardableResult
    func dropSystemToken(installationId: String, ifStill token: Secret) async throws -> Bool
}

/// What the run needs from storage, read by the backend's queue in the transaction that leases the
/// run's job (`LeasedJob.claim`), which also marks the run running: the report, its site
/// (nil when the service does not know it), the site's app system token as stored (for an offline
/// token when no forwarded one serves), what the report row knows about its page, and the snapshot
/// its last successful run left (`ReportSnapshot`'s bytes, for what changed since).
public struct RunClaim: Sendable {
    let report: Report
    let installation: Installation?
    let systemToken: SealedSystemToken?
    let page: ReportPage
    let lastSnapshot: Data?

    public init(
        report: Report, installation: Installation?, systemToken: SealedSystemToken?, page: ReportPage,
        lastSnapshot: Data? = nil
    ) {
        self.report = report
        self.installation = installation
        self.systemToken = systemToken
        self.page = page
        self.lastSnapshot = lastSnapshot
    }

    /// The last run to compare with: none when the report has no snapshot (never written, or written
    /// before changes were kept) or one this version cannot read.
    var lastRun: LastRun {
        guard let bytes = lastSnapshot, let snapshot = ReportSnapshot(encoded: bytes) else { return .none }
        return .snapshot(snapshot)
    }
}

/// A site's app system token as stored: sealed to the site (`VaultContext.atlassianSystemToken`), opened
/// by the handler only when it mints an offline token, and its (capped) expiry.
public struct SealedSystemToken: Sendable, Equatable {
    let sealed: Data
    let expiresAt: Date

    public init(sealed: Data, expiresAt: Date) {
        self.sealed = sealed
        self.expiresAt = expiresAt
    }
}

/// A Jira site the service has seen a verified Forge call from.
public struct Installation: Sendable, Equatable {
    let id: String
    let cloudId: String
    let apiBaseUrl: URL
    public let siteUrl: URL?

    public init(id: String, cloudId: String, apiBaseUrl: URL, siteUrl: URL?) {
        self.id = id
        self.cloudId = cloudId
        self.apiBaseUrl = apiBaseUrl
        self.siteUrl = siteUrl
    }
}
