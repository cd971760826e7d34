public import Foundation
import Rendering
import ReportsSupport

/// What the service holds for one Jira site, or for one person on it: the answer
/// to a data-subject request. Ids, names, definitions, statuses and times — never a token, a key or a
/// ciphertext; where one is stored, the document says only that it is.
public struct TenantExport: Codable, Sendable, Equatable {
    struct Scope: Codable, Sendable, Equatable {
        var installationId: String
        var accountId: String?
    }

    public struct Installation: Codable, Sendable, Equatable {
        var id: String
        var cloudId: String
        var siteUrl: String?
        var apiBaseUrl: String
        var firstSeenAt: Date
        var lastSeenAt: Date
        /// An encrypted Atlassian system token is stored (its value is never exported).
        var systemTokenStored: Bool

        public init(
            id: String, cloudId: String, siteUrl: String?, apiBaseUrl: String, firstSeenAt: Date, lastSeenAt: Date,
            systemTokenStored: Bool
        ) {
            self.id = id
            self.cloudId = cloudId
            self.siteUrl = siteUrl
            self.apiBaseUrl = apiBaseUrl
            self.firstSeenAt = firstSeenAt
            self.lastSeenAt = lastSeenAt
            self.systemTokenStored = systemTokenStored
        }
    }

    public struct Connection: Codable, Sendable, Equatable {
        var accountId: String
        var microsoftUserId: String
        var displayName: String
        var status: String
        var connectedAt: Date
        var refreshedAt: Date?
        /// Always true: a connection is an encrypted refresh token (never exported).
        var refreshTokenStored: Bool

        public init(
            accountId: String, microsoftUserId: String, displayName: String, status: String, connectedAt: Date,
            refreshedAt: Date?, refreshTokenStored: Bool
        ) {
            self.accountId = accountId
            self.microsoftUserId = microsoftUserId
            self.displayName = displayName
            self.status = status
            self.connectedAt = connectedAt
            self.refreshedAt = refreshedAt
            self.refreshTokenStored = refreshTokenStored
        }
    }

    /// A connection waiting for its owner's confirmation (at most 10 minutes).
    public struct PendingConnection: Codable, Sendable, Equatable {
        var accountId: String
        var microsoftUserId: String
        var displayName: String
        var microsoftAccount: String
        var expiresAt: Date

        public init(
            accountId: String, microsoftUserId: String, displayName: String, microsoftAccount: String, expiresAt: Date
        ) {
            self.accountId = accountId
            self.microsoftUserId = microsoftUserId
            self.displayName = displayName
            self.microsoftAccount = microsoftAccount
            self.expiresAt = expiresAt
        }
    }

    public struct ExportedReport: Codable, Sendable, Equatable {
        var id: String
        var ownerAccountId: String
        var name: String
        var jql: String?
        var filterId: String?
        var columns: [String]
        var sectionId: String
        var pageUrl: String?
        var scheduleCron: String?
        var scheduleTimeZone: String?
        var enabled: Bool
        var nextRunAt: Date?
        var createdAt: Date
        var updatedAt: Date
        var layout: PageLayout
        /// What the page showed at the report's last successful run, as kept for its changes.
        var lastRun: ExportedSnapshot?

        /// The stored row as a person reads it: dates, the column list, the layout, no page id;
        /// `snapshot`: the report's kept snapshot (`ReportSnapshot`'s bytes), if any.
        public init(_ report: Report, snapshot: Data? = nil) {
            id = report.id
            ownerAccountId = report.ownerAccountId
            name = report.name
            jql = report.jql
            filterId = report.filterId
            columns = report.definition.columns
            sectionId = report.location
            pageUrl = report.pageUrl
            scheduleCron = report.scheduleCron
            scheduleTimeZone = report.scheduleTimeZone
            enabled = report.enabled
            nextRunAt = report.nextRunAt.map(Timestamp.date(milliseconds:))
            createdAt = Timestamp.date(milliseconds: report.createdAt)
            updatedAt = Timestamp.date(milliseconds: report.updatedAt)
            layout = report.definition.layout
            lastRun = snapshot.flatMap(ReportSnapshot.init(encoded:)).map(ExportedSnapshot.init)
        }
    }

    /// A kept snapshot as a person reads it: when, and each issue's key and status (its cells are
    /// only hashes, which say nothing to a reader and are left out).
    public struct ExportedSnapshot: Codable, Sendable, Equatable {
        struct Issue: Codable, Sendable, Equatable {
            var key: String
            var status: String
        }
        var takenAt: Date
        var columns: [String]
        var issues: [Issue]

        init(_ snapshot: ReportSnapshot) {
            takenAt = snapshot.takenAt
            columns = snapshot.columns
            issues = snapshot.issues.map { Issue(key: $0.key, status: $0.status) }
        }
    }

    public struct ExportedRun: Codable, Sendable, Equatable {
        var id: String
        var reportId: String
        var trigger: String
        var status: String
        var queuedAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var issueCount: Int?
        var pageUrl: String?
        var errorCode: String?
        var errorMessage: String?

        public init(_ run: ReportRun) {
            id = run.id
            reportId = run.reportId
            trigger = run.trigger.rawValue
            status = run.status.rawValue
            queuedAt = Timestamp.date(milliseconds: run.queuedAt)
            startedAt = run.startedAt.map(Timestamp.date(milliseconds:))
            finishedAt = run.finishedAt.map(Timestamp.date(milliseconds:))
            issueCount = run.issueCount
            pageUrl = run.pageUrl
            errorCode = run.errorCode
            errorMessage = run.errorMessage
        }
    }

    var exportedAt: Date
    var scope: Scope
    /// Nil when nothing is stored for the installation.
    var installation: Installation?
    var microsoftConnections: [Connection]
    var pendingMicrosoftConnections: [PendingConnection]
    var reports: [ExportedReport]
    var runs: [ExportedRun]

    public init(
        exportedAt: Date, installationId: String, accountId: String?, installation: Installation?,
        microsoftConnections: [Connection], pendingMicrosoftConnections: [PendingConnection],
        reports: [ExportedReport], runs: [ExportedRun]
    ) {
        self.exportedAt = exportedAt
        scope = Scope(installationId: installationId, accountId: accountId)
        self.installation = installation
        self.microsoftConnections = microsoftConnections
        self.pendingMicrosoftConnections = pendingMicrosoftConnections
        self.reports = reports
        self.runs = runs
    }

    private enum CodingKeys: String, CodingKey {
        case exportedAt, scope, installation, microsoftConnections, pendingMicrosoftConnections, reports, runs
    }

    /// `installation` is written as null when nothing is stored, so the document says so plainly.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(exportedAt, forKey: .exportedAt)
        try container.encode(scope, forKey: .scope)
        try container.encode(installation, forKey: .installation)
        try container.encode(microsoftConnections, forKey: .microsoftConnections)
        try container.encode(pendingMicrosoftConnections, forKey: .pendingMicrosoftConnections)
        try container.encode(reports, forKey: .reports)
        try container.encode(runs, forKey: .runs)
    }

    /// True when nothing at all is stored for the scope.
    public var isEmpty: Bool {
        installation == nil && microsoftConnections.isEmpty && pendingMicrosoftConnections.isEmpty
            && reports.isEmpty && runs.isEmpty
    }
}

/// Reads one site's (or one person's) data for `enqueuer tenant export`, on either backend.
public protocol TenantDataExporting: Sendable {
    func export(installationId: String, accountId: String?) async throws -> TenantExport
}
