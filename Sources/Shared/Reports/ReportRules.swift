public import Foundation
import Rendering
import ReportsSupport

// The rules a report store keeps whatever its database (both backends apply the same ones):
// a definition becomes a row, a schedule is no more frequent than the limits allow, and quotas are
// checked in the writing transaction with these errors.

extension Report {
    /// A new report of `owner` from a validated definition; `schedule` is what `validate()` returned.
    public init(
        id: String, owner: ReportOwner, definition: ReportDefinition, schedule: CronSchedule?, now: Date
    ) {
        self.init(
            id: id, installationId: owner.installationId, ownerAccountId: owner.accountId, name: definition.name,
            columns: "[]", location: definition.location, enabled: definition.enabled,
            createdAt: Timestamp.milliseconds(now), updatedAt: Timestamp.milliseconds(now))
        apply(definition, schedule: schedule, now: now)
    }

    /// Replaces the definition (the page it writes to stays) and moves the next run.
    public mutating func apply(_ definition: ReportDefinition, schedule: CronSchedule?, now: Date) {
        name = definition.name
        jql = definition.jql
        filterId = definition.filterId
        columns = String(decoding: (try? JSONEncoder().encode(definition.columns)) ?? Data("[]".utf8), as: UTF8.self)
        location = definition.location
        layout = definition.layout == .standard ? "{}" : definition.layout.json
        scheduleCron = definition.schedule?.cron
        scheduleTimeZone = definition.schedule?.timeZone
        enabled = definition.enabled
        nextRunAt = Self.nextRunAt(schedule, enabled: definition.enabled, after: now)
        updatedAt = Timestamp.milliseconds(now)
    }

    static func nextRunAt(_ schedule: CronSchedule?, enabled: Bool, after date: Date) -> Int64? {
        guard enabled, let schedule, let next = schedule.nextRun(after: date) else { return nil }
        return Timestamp.milliseconds(next)
    }
}

extension TenantLimits {
    /// A schedule may not run more often than the shortest interval allowed.
    public func checkInterval(_ schedule: CronSchedule?) throws(ReportValidationError) {
        guard let schedule, let gap = schedule.expression.shortestIntervalMinutes, gap < minScheduleMinutes
        else { return }
        throw ReportValidationError(
            field: "schedule.cron",
            "runs as often as every \(gap) minute\(gap == 1 ? "" : "s"); the shortest interval allowed is \(minScheduleMinutes) minutes",
            code: "schedule_too_frequent")
    }

    /// Refuses one more report when the owner has `mine` or their site `site` already.
    public func checkQuota(mine: Int, site: Int) throws(ReportValidationError) {
        guard mine < reportsPerUser else {
            throw ReportValidationError(
                field: "reports", "you have \(mine) reports; a user may have at most \(reportsPerUser)",
                code: "report_quota_exceeded")
        }
        guard site < reportsPerInstallation else {
            throw ReportValidationError(
                field: "reports",
                "this Jira site has \(site) reports; a site may have at most \(reportsPerInstallation)",
                code: "report_quota_exceeded")
        }
    }
}
