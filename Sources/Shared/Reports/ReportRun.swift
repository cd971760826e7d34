import Foundation
public import GRDB

/// A row of `runs`: one request to produce a report, with its outcome. Never issue contents.
public struct ReportRun: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"

    public enum Trigger: String, Sendable, Codable { case manual, schedule }
    public enum Status: String, Sendable, Codable { case queued, running, succeeded, failed }

    public var id: String
    public var reportId: String
    public var installationId: String
    public var jobId: Int64?
    public var trigger: Trigger
    public var status: Status
    public var attempt: Int
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
}

/// The job that produces a report (kind `run-report`; the worker's handler comes with the pipeline).
public struct RunReportJob: Codable, Sendable, Equatable {
    public static let kind = "run-report"

    public var runId: String
    public var reportId: String
    public var installationId: String
    public var ownerAccountId: String
    /// The user token Forge forwarded with a Run now: vault ciphertext (base64url) bound to this run
    /// (`atl-user|<installationId>|<runId>`), and its expiry in epoch milliseconds.
    public var userToken: String?
    public var userTokenExpiresAt: Int64?
}
