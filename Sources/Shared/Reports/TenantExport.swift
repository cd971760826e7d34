public import Foundation

/// What the service holds for one Jira site, or for one person on it (issue #18, point 4): the answer
/// to a data-subject request. Ids, names, definitions, statuses and times — never a token, a key or a
/// ciphertext; where one is stored, the document says only that it is.
public struct TenantExport: Codable, Sendable, Equatable {
    public struct Scope: Codable, Sendable, Equatable {
        public var installationId: String
        public var accountId: String?
    }

    public struct Installation: Codable, Sendable, Equatable {
        public var id: String
        public var cloudId: String
        public var siteUrl: String?
        public var apiBaseUrl: String
        public var firstSeenAt: Date
        public var lastSeenAt: Date
        /// An encrypted Atlassian system token is stored (its value is never exported).
        public var systemTokenStored: Bool

        package init(
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
        public var accountId: String
        public var microsoftUserId: String
        public var displayName: String
        public var status: String
        public var connectedAt: Date
        public var refreshedAt: Date?
        /// Always true: a connection is an encrypted refresh token (never exported).
        public var refreshTokenStored: Bool

        package init(
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
        public var accountId: String
        public var microsoftUserId: String
        public var displayName: String
        public var microsoftAccount: String
        public var expiresAt: Date

        package init(
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
        public var id: String
        public var ownerAccountId: String
        public var name: String
        public var jql: String?
        public var filterId: String?
        public var columns: [String]
        public var sectionId: String
        public var pageUrl: String?
        public var scheduleCron: String?
        public var scheduleTimeZone: String?
        public var enabled: Bool
        public var nextRunAt: Date?
        public var createdAt: Date
        public var updatedAt: Date

        package init(
            id: String, ownerAccountId: String, name: String, jql: String?, filterId: String?, columns: [String],
            sectionId: String, pageUrl: String?, scheduleCron: String?, scheduleTimeZone: String?, enabled: Bool,
            nextRunAt: Date?, createdAt: Date, updatedAt: Date
        ) {
            self.id = id
            self.ownerAccountId = ownerAccountId
            self.name = name
            self.jql = jql
            self.filterId = filterId
            self.columns = columns
            self.sectionId = sectionId
            self.pageUrl = pageUrl
            self.scheduleCron = scheduleCron
            self.scheduleTimeZone = scheduleTimeZone
            self.enabled = enabled
            self.nextRunAt = nextRunAt
            self.createdAt = createdAt
            self.updatedAt = updatedAt
        }
    }

    public struct ExportedRun: Codable, Sendable, Equatable {
        public var id: String
        public var reportId: String
        public var trigger: String
        public var status: String
        public var queuedAt: Date
        public var startedAt: Date?
        public var finishedAt: Date?
        public var issueCount: Int?
        public var pageUrl: String?
        public var errorCode: String?
        public var errorMessage: String?

        package init(
            id: String, reportId: String, trigger: String, status: String, queuedAt: Date, startedAt: Date?,
            finishedAt: Date?, issueCount: Int?, pageUrl: String?, errorCode: String?, errorMessage: String?
        ) {
            self.id = id
            self.reportId = reportId
            self.trigger = trigger
            self.status = status
            self.queuedAt = queuedAt
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.issueCount = issueCount
            self.pageUrl = pageUrl
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    public var exportedAt: Date
    public var scope: Scope
    /// Nil when nothing is stored for the installation.
    public var installation: Installation?
    public var microsoftConnections: [Connection]
    public var pendingMicrosoftConnections: [PendingConnection]
    public var reports: [ExportedReport]
    public var runs: [ExportedRun]

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

/// A report's columns as both backends store them: a JSON array of strings.
package enum TenantExportColumns {
    package static func decode(_ text: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}
