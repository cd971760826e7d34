import Foundation
import Reports
import ReportsSupport

/// `SiteAdmin` in docs/openapi.yaml: one site as its admin page shows it.
struct SiteAdminResponse: Encodable, Sendable {
    struct Site: Encodable, Sendable {
        let schedulesPaused: Bool
        let schedulesPausedAt: String?
        /// Whether the site needs an active licence, and whether this call's token says it has one
        /// (null: the token says nothing, as outside production).
        let licenseRequired: Bool
        let licenseActive: Bool?
        let reportCount: Int
    }

    /// The quotas of `TenantLimits`, by the names the page shows.
    struct Quotas: Encodable, Sendable {
        let reportsPerUser: Int
        let reportsPerSite: Int
        let minScheduleMinutes: Int
        let runNowPerMinute: Int
        let reportWritesPerMinute: Int
        let runningPerMicrosoftUser: Int
    }

    struct Runs: Encodable, Sendable {
        struct Failures: Encodable, Sendable {
            let code: String
            let count: Int
        }
        let total: Int
        let succeeded: Int
        let failed: Int
        let inProgress: Int
        let failures: [Failures]

        init(_ runs: SiteOverview.Runs) {
            total = runs.total
            succeeded = runs.succeeded
            failed = runs.failed
            inProgress = runs.inProgress
            failures = runs.failures.map { Failures(code: $0.code, count: $0.count) }
        }
    }

    struct RunWindows: Encodable, Sendable {
        let lastDay: Runs
        let lastWeek: Runs
    }

    struct User: Encodable, Sendable {
        struct Report: Encodable, Sendable {
            struct LatestRun: Encodable, Sendable {
                let status: String
                let errorCode: String?
                let queuedAt: String
            }
            let id: String
            let name: String
            let schedule: ReportResponse.Schedule?
            let enabled: Bool
            let nextRunAt: String?
            let pageUrl: String?
            let latestRun: LatestRun?
        }
        let accountId: String
        let displayName: String?
        /// `not_connected`, `active` or `reconnect_required`, as `/v1/me` says it.
        let microsoft: String
        let scheduledReports: Int
        let reports: [Report]
    }

    let site: Site
    let quotas: Quotas
    let runs: RunWindows
    let users: [User]

    init(
        _ overview: SiteOverview, names: [String: String], limits: TenantLimits, license: LicensePolicy,
        licenseActive: Bool?
    ) {
        site = Site(
            schedulesPaused: overview.schedulesPausedAt != nil,
            schedulesPausedAt: overview.schedulesPausedAt?.formatted(.iso8601),
            licenseRequired: license.required, licenseActive: licenseActive, reportCount: overview.reportCount)
        quotas = Quotas(
            reportsPerUser: limits.reportsPerUser, reportsPerSite: limits.reportsPerInstallation,
            minScheduleMinutes: limits.minScheduleMinutes, runNowPerMinute: limits.runNowPerMinute,
            reportWritesPerMinute: limits.reportWritesPerMinute, runningPerMicrosoftUser: limits.maxRunningPerKey)
        runs = RunWindows(lastDay: Runs(overview.lastDay), lastWeek: Runs(overview.lastWeek))
        users = overview.users.map { user in
            User(
                accountId: user.accountId, displayName: names[user.accountId],
                microsoft: user.microsoft?.rawValue ?? "not_connected", scheduledReports: user.scheduledReports,
                reports: user.reports.map { entry in
                    User.Report(
                        id: entry.report.id, name: entry.report.name,
                        schedule: entry.report.scheduleCron.map {
                            .init(cron: $0, timeZone: entry.report.scheduleTimeZone ?? "UTC")
                        },
                        enabled: entry.report.enabled,
                        nextRunAt: entry.report.nextRunAt.map(Timestamp.iso8601(milliseconds:)),
                        pageUrl: entry.report.pageUrl,
                        latestRun: entry.latestRun.map {
                            .init(
                                status: $0.status.rawValue, errorCode: $0.errorCode,
                                queuedAt: $0.queuedAt.formatted(.iso8601))
                        })
                })
        }
    }
}

/// The schedule switch after a change.
struct SchedulesSwitchResponse: Encodable, Sendable {
    let schedulesPaused: Bool
    let schedulesPausedAt: String?

    init(pausedAt: Date?) {
        schedulesPaused = pausedAt != nil
        schedulesPausedAt = pausedAt?.formatted(.iso8601)
    }
}
