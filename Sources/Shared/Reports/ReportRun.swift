import Foundation

/// A row of `runs`: one request to produce a report, with its outcome. Never issue contents.
public struct ReportRun: Sendable, Equatable, Codable {

    public enum Trigger: String, Sendable, Codable { case manual, schedule }
    public enum Status: String, Sendable, Codable { case queued, running, succeeded, failed }

    public var id: String
    public var reportId: String
    public var installationId: String
    public var jobId: Int64?
    public var trigger: Trigger
    public var status: Status
    var attempt: Int
    public var queuedAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?
    public var issueCount: Int?
    public var pageUrl: String?
    public var errorCode: String?
    public var errorMessage: String?
    /// Not stored: while a run waits for a retry, when its job is due again (read from the job).
    public var nextAttemptAt: Int64? = nil

    enum CodingKeys: String, CodingKey {
        case id, trigger, status, attempt
        case reportId = "report_id"
        case installationId = "installation_id"
        case jobId = "job_id"
        case queuedAt = "queued_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case issueCount = "issue_count"
        case pageUrl = "page_url"
        case errorCode = "error_code"
        case errorMessage = "error_message"
    }
    public init(
        id: String, reportId: String, installationId: String, jobId: Int64? = nil, trigger: Trigger, status: Status,
        attempt: Int, queuedAt: Int64, startedAt: Int64? = nil, finishedAt: Int64? = nil, issueCount: Int? = nil,
        pageUrl: String? = nil, errorCode: String? = nil, errorMessage: String? = nil, nextAttemptAt: Int64? = nil
    ) {
        self.id = id
        self.reportId = reportId
        self.installationId = installationId
        self.jobId = jobId
        self.trigger = trigger
        self.status = status
        self.attempt = attempt
        self.queuedAt = queuedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.issueCount = issueCount
        self.pageUrl = pageUrl
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.nextAttemptAt = nextAttemptAt
    }
}

/// The job that produces a report (kind `run-report`; the worker's handler comes with the pipeline).
public struct RunReportJob: Codable, Sendable, Equatable {
    public static let kind = "run-report"

    var runId: String
    public var reportId: String
    public var installationId: String
    public var ownerAccountId: String
    /// The user token Forge forwarded with a Run now: vault ciphertext (base64url) bound to this run
    /// (`atl-user|<installationId>|<runId>`), and its expiry in epoch milliseconds.
    var userToken: String?
    var userTokenExpiresAt: Int64?
    public init(
        runId: String, reportId: String, installationId: String, ownerAccountId: String, userToken: String? = nil,
        userTokenExpiresAt: Int64? = nil
    ) {
        self.runId = runId
        self.reportId = reportId
        self.installationId = installationId
        self.ownerAccountId = ownerAccountId
        self.userToken = userToken
        self.userTokenExpiresAt = userTokenExpiresAt
    }
}
