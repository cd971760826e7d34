import Foundation
import Microsoft
import Rendering
import Reports
import ReportsSupport
import Upstream

// One Codable type per resource the API answers with (docs/openapi.yaml, component schemas). The
// tree encoder writes them with sorted keys and absent optionals as null, as the API always has.

/// `Report` in docs/openapi.yaml.
struct ReportResponse: Encodable, Sendable {
    struct Schedule: Encodable, Sendable {
        let cron: String
        let timeZone: String
    }

    let id: String
    let name: String
    let jql: String?
    let filterId: String?
    let columns: [String]
    let sectionId: String
    let schedule: Schedule?
    let enabled: Bool
    let layout: PageLayout
    let pageUrl: String?
    let nextRunAt: String?
    let createdAt: String
    let updatedAt: String

    init(_ report: Report) {
        let definition = report.definition
        id = report.id
        name = report.name
        jql = report.jql
        filterId = report.filterId
        columns = definition.columns
        sectionId = report.location
        schedule = definition.schedule.map { Schedule(cron: $0.cron, timeZone: $0.timeZone) }
        enabled = report.enabled
        layout = definition.layout
        pageUrl = report.pageUrl
        nextRunAt = report.nextRunAt.map(Timestamp.iso8601(milliseconds:))
        createdAt = Timestamp.iso8601(milliseconds: report.createdAt)
        updatedAt = Timestamp.iso8601(milliseconds: report.updatedAt)
    }
}

struct ReportListResponse: Encodable, Sendable {
    let reports: [ReportResponse]
}

/// `Run` in docs/openapi.yaml.
struct RunResponse: Encodable, Sendable {
    struct Failure: Encodable, Sendable {
        let code: String
        let message: String
    }

    let id: String
    let reportId: String
    let trigger: String
    let status: String
    let queuedAt: String
    let startedAt: String?
    let finishedAt: String?
    let issueCount: Int?
    let pageUrl: String?
    /// The final failure only.
    let error: Failure?
    /// An attempt that failed and will be retried, while the run is queued or running.
    let lastError: Failure?
    let nextAttemptAt: String?

    init(_ run: ReportRun) {
        id = run.id
        reportId = run.reportId
        trigger = run.trigger.rawValue
        status = run.status.rawValue
        queuedAt = Timestamp.iso8601(milliseconds: run.queuedAt)
        startedAt = run.startedAt.map(Timestamp.iso8601(milliseconds:))
        finishedAt = run.finishedAt.map(Timestamp.iso8601(milliseconds:))
        issueCount = run.issueCount
        pageUrl = run.pageUrl
        let failure = run.errorCode.map { Failure(code: $0, message: run.errorMessage ?? "") }
        error = run.status == .failed ? failure : nil
        lastError = run.status != .failed && run.status != .succeeded ? failure : nil
        nextAttemptAt = run.nextAttemptAt.map(Timestamp.iso8601(milliseconds:))
    }
}

struct RunListResponse: Encodable, Sendable {
    let runs: [RunResponse]
}

/// The 202 answer of `POST /v1/reports/{id}/runs` (docs/openapi.yaml): the run, whether this call
/// created it, and how it was placed.
struct RunRequestResponse: Encodable, Sendable {
    enum Disposition: String, Encodable, Sendable {
        case queued
        case followUp = "follow_up"
        case joined
    }

    let run: RunResponse
    let created: Bool
    let disposition: Disposition
    /// Only for a follow-up: the run it follows.
    let runningRunId: String?

    private enum CodingKeys: String, CodingKey { case created, disposition, runningRunId }

    func encode(to encoder: any Encoder) throws {
        try run.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(created, forKey: .created)
        try container.encode(disposition, forKey: .disposition)
        if let runningRunId { try container.encode(runningRunId, forKey: .runningRunId) }
    }
}

/// `Me` in docs/openapi.yaml.
struct MeResponse: Encodable, Sendable {
    struct Microsoft: Encodable, Sendable {
        let status: String
        let displayName: String?
        let connectedAt: String?

        private enum CodingKeys: String, CodingKey { case status, displayName, connectedAt }

        // Not connected: only the status (no null name or time).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            if let displayName { try container.encode(displayName, forKey: .displayName) }
            if let connectedAt { try container.encode(connectedAt, forKey: .connectedAt) }
        }
    }

    let accountId: String
    let installationId: String
    let microsoft: Microsoft
    /// Whether a site admin paused every schedule of the site (the app says so above the list).
    let schedulesPaused: Bool
}

struct SectionListResponse: Encodable, Sendable {
    struct Section: Encodable, Sendable {
        let id: String
        let name: String
        let notebookId: String?
        let notebookName: String?

        init(_ section: GraphClient.Section) {
            id = section.id
            name = section.name
            notebookId = section.notebookId
            notebookName = section.notebookName
        }
    }

    let sections: [Section]
}

struct FilterListResponse: Encodable, Sendable {
    struct Filter: Encodable, Sendable {
        let id: String
        let name: String
        let jql: String?
    }

    let filters: [Filter]
    let truncated: Bool
}

/// The fields a report may show, as the editor's column picker lists them: the site's name for each,
/// whether it is a custom field, and a type the editor names (`FieldTypes.code`).
struct FieldListResponse: Encodable, Sendable {
    struct Field: Encodable, Sendable {
        let id: String
        let name: String
        let type: String
        let custom: Bool
    }

    let fields: [Field]
    let truncated: Bool
}

struct ConnectStartResponse: Encodable, Sendable {
    let startUrl: String
    let expiresAt: String
}

struct HealthResponse: Encodable, Sendable {
    let status: String
}

/// `{}`: what Forge's lifecycle events and scheduled triggers are answered with.
struct EmptyResponse: Encodable, Sendable {}

/// `Error` in docs/openapi.yaml.
struct ErrorResponse: Encodable, Sendable {
    struct Body: Encodable, Sendable {
        let code: String
        let message: String
    }

    let error: Body

    init(code: APIErrorCode, message: String) {
        error = Body(code: code.rawValue, message: message)
    }
}
