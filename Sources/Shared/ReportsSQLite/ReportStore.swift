public import Foundation
import GRDB
public import Reports
import ReportsSupport
public import SQLiteStorage

/// Report definitions, always scoped by owner: another user's or installation's report is simply not
/// found (the API answers 404, never 403, so ids reveal nothing).
public struct ReportStore: Sendable {
    public let database: ReportsDatabase
    /// Reports per user and per site, and the shortest schedule interval (issue #13).
    public let limits: TenantLimits
    private let now: @Sendable () -> Date

    public init(
        database: ReportsDatabase, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.limits = limits
        self.now = now
    }

    public func list(_ owner: ReportOwner) async throws -> [Report] {
        try await database.pool.read { db in
            try Report.filter(
                Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId
            )
            .order(Column("created_at"), Column("id"))
            .fetchAll(db)
        }
    }

    public func get(_ owner: ReportOwner, id: String) async throws -> Report? {
        try await database.pool.read { db in try Self.fetch(db, owner, id) }
    }

    static func fetch(_ db: Database, _ owner: ReportOwner, _ id: String) throws -> Report? {
        try Report.filter(
            Column("id") == id && Column("installation_id") == owner.installationId
                && Column("owner_account_id") == owner.accountId
        )
        .fetchOne(db)
    }

    /// Creates a report. The installation must be known (it is stored from the first verified FIT).
    public func create(_ owner: ReportOwner, _ definition: ReportDefinition) async throws -> Report {
        let schedule = try definition.validate()
        try checkInterval(schedule)
        let now = now()
        var report = Report(
            id: UUID().uuidString.lowercased(), installationId: owner.installationId, ownerAccountId: owner.accountId,
            name: definition.name, jql: definition.jql, filterId: definition.filterId,
            columns: Self.encode(definition.columns), sectionId: definition.sectionId, pageId: nil, pageUrl: nil,
            scheduleCron: definition.schedule?.cron, scheduleTimeZone: definition.schedule?.timeZone,
            enabled: definition.enabled,
            nextRunAt: nil, createdAt: Timestamp.milliseconds(now), updatedAt: Timestamp.milliseconds(now))
        report.nextRunAt = Self.nextRunAt(schedule, enabled: definition.enabled, after: now)
        let row = report
        let limits = limits
        try await database.pool.write { db in
            // Counted in the write transaction, so two creates at once cannot both take the last place.
            let mine = try Report.filter(
                Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId
            ).fetchCount(db)
            guard mine < limits.reportsPerUser else {
                throw ReportValidationError(
                    field: "reports", "you have \(mine) reports; a user may have at most \(limits.reportsPerUser)",
                    code: "report_quota_exceeded")
            }
            let site = try Report.filter(Column("installation_id") == owner.installationId).fetchCount(db)
            guard site < limits.reportsPerInstallation else {
                throw ReportValidationError(
                    field: "reports",
                    "this Jira site has \(site) reports; a site may have at most \(limits.reportsPerInstallation)",
                    code: "report_quota_exceeded")
            }
            try row.insert(db)
        }
        return report
    }

    /// A schedule may not run more often than the shortest interval allowed.
    private func checkInterval(_ schedule: CronSchedule?) throws(ReportValidationError) {
        guard let schedule, let gap = schedule.expression.shortestIntervalMinutes, gap < limits.minScheduleMinutes
        else { return }
        throw ReportValidationError(
            field: "schedule.cron",
            "runs as often as every \(gap) minute\(gap == 1 ? "" : "s"); the shortest interval allowed is \(limits.minScheduleMinutes) minutes",
            code: "schedule_too_frequent")
    }

    /// Replaces a report's definition (the page it writes to stays). Nil when not found for this owner.
    public func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report? {
        let schedule = try definition.validate()
        let now = now()
        let existing = try await get(owner, id: id)
        // A schedule kept as it was stays, even if it is more frequent than today's limit allows.
        if existing?.scheduleCron != definition.schedule?.cron { try checkInterval(schedule) }
        return try await database.pool.write { db -> Report? in
            guard var report = try Self.fetch(db, owner, id) else { return nil }
            report.name = definition.name
            report.jql = definition.jql
            report.filterId = definition.filterId
            report.columns = Self.encode(definition.columns)
            report.sectionId = definition.sectionId
            report.scheduleCron = definition.schedule?.cron
            report.scheduleTimeZone = definition.schedule?.timeZone
            report.enabled = definition.enabled
            report.nextRunAt = Self.nextRunAt(schedule, enabled: definition.enabled, after: now)
            report.updatedAt = Timestamp.milliseconds(now)
            try report.update(db)
            return report
        }
    }

    public func delete(_ owner: ReportOwner, id: String) async throws -> Bool {
        try await database.pool.write { db in
            try Report.filter(
                Column("id") == id && Column("installation_id") == owner.installationId
                    && Column("owner_account_id") == owner.accountId
            )
            .deleteAll(db) > 0
        }
    }

    static func nextRunAt(_ schedule: CronSchedule?, enabled: Bool, after date: Date) -> Int64? {
        guard enabled, let schedule, let next = schedule.nextRun(after: date) else { return nil }
        return Timestamp.milliseconds(next)
    }

    private static func encode(_ columns: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(columns)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
