import Foundation
public import Rendering

/// Who a request acts for: every report query is scoped by both.
public struct ReportOwner: Sendable, Equatable {
    public let installationId: String
    public let accountId: String

    public init(installationId: String, accountId: String) {
        self.installationId = installationId
        self.accountId = accountId
    }
}

/// A row of `reports`.
public struct Report: Sendable, Equatable, Codable {

    public var id: String
    public var installationId: String
    public var ownerAccountId: String
    public var name: String
    public var jql: String?
    public var filterId: String?
    /// JSON array of field ids.
    public var columns: String
    /// Where the report is written at its destination (for OneNote: the section's id).
    public var location: String
    /// JSON of the page's `PageLayout` (`{}`: the standard layout).
    public var layout: String
    /// Where a person opens the report's page, once written. (The page's own state at the destination
    /// is the run's business: `RunClaim.page`.)
    public var pageUrl: String?
    public var scheduleCron: String?
    public var scheduleTimeZone: String?
    public var enabled: Bool
    public var nextRunAt: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, jql, columns, enabled, layout
        case installationId = "installation_id"
        case ownerAccountId = "owner_account_id"
        case filterId = "filter_id"
        case location = "section_id"
        case pageUrl = "page_url"
        case scheduleCron = "schedule_cron"
        case scheduleTimeZone = "schedule_time_zone"
        case nextRunAt = "next_run_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public var definition: ReportDefinition {
        ReportDefinition(
            name: name, jql: jql, filterId: filterId,
            columns: (try? JSONDecoder().decode([String].self, from: Data(columns.utf8))) ?? [],
            location: location,
            schedule: scheduleCron.map { ReportDefinition.Schedule(cron: $0, timeZone: scheduleTimeZone ?? "UTC") },
            enabled: enabled, layout: pageLayout)
    }

    /// The page's layout; a stored text that does not read (it cannot: the API writes it) is the standard one.
    public var pageLayout: PageLayout {
        (try? JSONDecoder().decode(PageLayout.self, from: Data(layout.utf8))) ?? .standard
    }

    var owner: ReportOwner { ReportOwner(installationId: installationId, accountId: ownerAccountId) }
    public init(
        id: String, installationId: String, ownerAccountId: String, name: String, jql: String? = nil,
        filterId: String? = nil, columns: String, location: String, layout: String = "{}", pageUrl: String? = nil,
        scheduleCron: String? = nil, scheduleTimeZone: String? = nil, enabled: Bool, nextRunAt: Int64? = nil,
        createdAt: Int64, updatedAt: Int64
    ) {
        self.id = id
        self.installationId = installationId
        self.ownerAccountId = ownerAccountId
        self.name = name
        self.jql = jql
        self.filterId = filterId
        self.columns = columns
        self.location = location
        self.layout = layout
        self.pageUrl = pageUrl
        self.scheduleCron = scheduleCron
        self.scheduleTimeZone = scheduleTimeZone
        self.enabled = enabled
        self.nextRunAt = nextRunAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
