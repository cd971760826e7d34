public import Foundation

/// What the app's admin page reads of one Jira site, and the one switch it keeps there: whether the
/// site's schedules are paused. Each backend implements these small reads and the switch; the overview
/// a site admin sees is built from them once, in `SiteOverview.read`.
public protocol SiteAdministrationStorage: Sendable {
    /// Every report of the site (at most the site's report quota), each with its latest run.
    func reports(installationId: String) async throws -> [SiteReport]
    /// The site's Microsoft connections, by Jira account.
    func connections(installationId: String) async throws -> [String: MicrosoftConnection.Status]
    /// The site's runs queued at or after `since`, counted by status and error code, and by whether they
    /// were queued at or after `recentSince` too.
    func runTallies(installationId: String, since: Date, recentSince: Date) async throws -> [RunTally]
    /// Since when the site's schedules are paused; nil while they run.
    func schedulesPausedAt(installationId: String) async throws -> Date?
    /// Pauses the site's schedules (a second pause keeps the first one's time) or lets them run again,
    /// and answers as `schedulesPausedAt` would after the change. While paused, `enqueuer cron` starts
    /// none of the site's reports; on resuming, a report that missed slots runs once, then keeps its
    /// schedule (as after any pause), and Run now works throughout.
    func setSchedulesPaused(_ paused: Bool, installationId: String, at: Date) async throws -> Date?
}

/// A report of the site as its admin sees it: the definition and how its latest run went.
public struct SiteReport: Sendable, Equatable {
    public struct LatestRun: Sendable, Equatable {
        public let status: ReportRun.Status
        public let errorCode: String?
        public let queuedAt: Date

        public init(status: ReportRun.Status, errorCode: String?, queuedAt: Date) {
            self.status = status
            self.errorCode = errorCode
            self.queuedAt = queuedAt
        }
    }

    public let report: Report
    public let latestRun: LatestRun?

    public init(report: Report, latestRun: LatestRun?) {
        self.report = report
        self.latestRun = latestRun
    }
}

/// How many of a site's runs ended (or stand) one way: `errorCode` only for failed runs.
public struct RunTally: Sendable, Equatable {
    public let status: ReportRun.Status
    public let errorCode: String?
    /// Queued within the shorter window as well as the longer one.
    public let recent: Bool
    public let count: Int

    public init(status: ReportRun.Status, errorCode: String?, recent: Bool, count: Int) {
        self.status = status
        self.errorCode = errorCode
        self.recent = recent
        self.count = count
    }
}

/// One site for its admin: each user's reports and Microsoft connection, the runs of the last day and
/// week, and whether its schedules are paused.
public struct SiteOverview: Sendable, Equatable {
    public struct User: Sendable, Equatable {
        public let accountId: String
        /// Nil: the user has no Microsoft connection.
        public let microsoft: MicrosoftConnection.Status?
        public let reports: [SiteReport]
        /// Reports with a schedule that is switched on.
        public var scheduledReports: Int { reports.count { $0.report.scheduleCron != nil && $0.report.enabled } }
    }

    public struct Failures: Sendable, Equatable {
        public let code: String
        public let count: Int

        package init(code: String, count: Int) {
            self.code = code
            self.count = count
        }
    }

    /// The runs queued in one window.
    public struct Runs: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        /// Queued or running now.
        public var inProgress = 0
        /// Failed runs by error code, most frequent first.
        public var failures: [Failures] = []
        public var total: Int { succeeded + failed + inProgress }
    }

    /// Users who own a report or hold a connection: most reports first, then by account id.
    public let users: [User]
    public let lastDay: Runs
    public let lastWeek: Runs
    public let schedulesPausedAt: Date?
    public var reportCount: Int { users.reduce(0) { $0 + $1.reports.count } }

    public static let dayWindow: Duration = .seconds(86_400)
    public static let weekWindow: Duration = .seconds(7 * 86_400)

    /// The site `installationId` as of `now`.
    public static func read(_ storage: any SiteAdministrationStorage, installationId: String, now: Date)
        async throws -> SiteOverview
    {
        async let reports = storage.reports(installationId: installationId)
        async let connections = storage.connections(installationId: installationId)
        async let tallies = storage.runTallies(
            installationId: installationId, since: now.addingTimeInterval(-Self.seconds(weekWindow)),
            recentSince: now.addingTimeInterval(-Self.seconds(dayWindow)))
        async let paused = storage.schedulesPausedAt(installationId: installationId)
        let byOwner = Dictionary(grouping: try await reports, by: \.report.ownerAccountId)
        let connected = try await connections
        let users = Set(byOwner.keys).union(connected.keys).map { account in
            User(
                accountId: account, microsoft: connected[account],
                reports: (byOwner[account] ?? []).sorted {
                    ($0.report.name, $0.report.id) < ($1.report.name, $1.report.id)
                })
        }.sorted { ($1.reports.count, $0.accountId) < ($0.reports.count, $1.accountId) }
        let counted = try await tallies
        return SiteOverview(
            users: users, lastDay: Runs(counted.filter(\.recent)), lastWeek: Runs(counted),
            schedulesPausedAt: try await paused)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval { TimeInterval(duration.components.seconds) }
}

extension SiteOverview.Runs {
    init(_ tallies: [RunTally]) {
        var byCode: [String: Int] = [:]
        for tally in tallies {
            switch tally.status {
            case .succeeded: succeeded += tally.count
            case .failed:
                failed += tally.count
                byCode[tally.errorCode ?? "unknown", default: 0] += tally.count
            case .queued, .running: inProgress += tally.count
            }
        }
        failures = byCode.map { SiteOverview.Failures(code: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.code) < ($0.count, $1.code) }
    }
}
