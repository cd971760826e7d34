public import JobQueue
public import ReportsSupport

/// What one tenant may use: quotas the API enforces on new writes, and the queue's
/// fairness settings. Existing data over a quota keeps working; only new writes are refused.
public struct TenantLimits: Sendable, Equatable {
    /// Reports one Jira user may own (`REPORTS_MAX_REPORTS_PER_USER`).
    public internal(set) var reportsPerUser = 100
    /// Reports one Jira site may hold (`REPORTS_MAX_REPORTS_PER_INSTALLATION`).
    public internal(set) var reportsPerInstallation = 5_000
    /// The shortest gap between two runs a schedule may ask for, in minutes (`REPORTS_MIN_SCHEDULE_MINUTES`).
    public internal(set) var minScheduleMinutes = 15
    /// Run now requests one user may make per minute (`REPORTS_RUN_NOW_PER_MINUTE`).
    public var runNowPerMinute = 30
    /// Report creates, updates and deletes one user may make per minute (`REPORTS_REPORT_WRITES_PER_MINUTE`).
    public internal(set) var reportWritesPerMinute = 60
    /// Jobs of one fairness key (a Microsoft user) running at once (`REPORTS_QUEUE_MAX_RUNNING_PER_KEY`).
    public internal(set) var maxRunningPerKey = FairnessPolicy.standard.maxRunningPerKey
    /// Seconds a due job waits before it is promoted to Run now's priority (`REPORTS_QUEUE_PRIORITY_AGING_SECONDS`).
    public internal(set) var priorityAgingSeconds = Int(FairnessPolicy.standard.agingAfter.components.seconds)

    public init() {}

    public init(environment: [String: String]) throws(ConfigurationError) {
        reportsPerUser = try Self.number(environment, "REPORTS_MAX_REPORTS_PER_USER", reportsPerUser, 1...1_000_000)
        reportsPerInstallation = try Self.number(
            environment, "REPORTS_MAX_REPORTS_PER_INSTALLATION", reportsPerInstallation, 1...10_000_000)
        minScheduleMinutes = try Self.number(environment, "REPORTS_MIN_SCHEDULE_MINUTES", minScheduleMinutes, 1...1_440)
        runNowPerMinute = try Self.number(environment, "REPORTS_RUN_NOW_PER_MINUTE", runNowPerMinute, 1...10_000)
        reportWritesPerMinute = try Self.number(
            environment, "REPORTS_REPORT_WRITES_PER_MINUTE", reportWritesPerMinute, 1...10_000)
        maxRunningPerKey = try Self.number(
            environment, "REPORTS_QUEUE_MAX_RUNNING_PER_KEY", maxRunningPerKey, 1...1_024)
        priorityAgingSeconds = try Self.number(
            environment, "REPORTS_QUEUE_PRIORITY_AGING_SECONDS", priorityAgingSeconds, 1...86_400)
    }

    /// The queue's fairness policy these limits describe.
    public var fairness: FairnessPolicy {
        FairnessPolicy(
            maxRunningPerKey: maxRunningPerKey, agingAfter: .seconds(priorityAgingSeconds),
            agedPriority: FairnessPolicy.standard.agedPriority)
    }

    static func number(
        _ environment: [String: String], _ name: String, _ fallback: Int, _ range: ClosedRange<Int>
    ) throws(ConfigurationError) -> Int {
        try ConfigurationError.wholeNumber(environment, name, fallback, range)
    }
}
