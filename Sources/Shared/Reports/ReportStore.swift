public import Foundation
import GRDB

/// Report definitions, always scoped by owner: another user's or installation's report is simply not
/// found (the API answers 404, never 403, so ids reveal nothing).
public struct ReportStore: Sendable {
    public let database: ReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func list(_ owner: ReportOwner) async throws -> [Report] {
        try await database.pool.read { db in
            try Report.filter(Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId)
                .order(Column("created_at"), Column("id"))
                .fetchAll(db)
        }
    }

    public func get(_ owner: ReportOwner, id: String) async throws -> Report? {
        try await database.pool.read { db in try Self.fetch(db, owner, id) }
    }

    static func fetch(_ db: Database, _ owner: ReportOwner, _ id: String) throws -> Report? {
        try Report.filter(Column("id") == id && Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId)
            .fetchOne(db)
    }

    /// Creates a report. The installation must be known (it is stored from the first verified FIT).
    public func create(_ owner: ReportOwner, _ definition: ReportDefinition) async throws -> Report {
        let schedule = try definition.validate()
        let now = now()
        var report = Report(
            id: UUID().uuidString.lowercased(), installationId: owner.installationId, ownerAccountId: owner.accountId,
            name: definition.name, jql: definition.jql, filterId: definition.filterId,
            columns: Self.encode(definition.columns), sectionId: definition.sectionId, pageId: nil, pageUrl: nil,
            scheduleCron: definition.schedule?.cron, scheduleTimeZone: definition.schedule?.timeZone, enabled: definition.enabled,
            nextRunAt: nil, createdAt: Timestamp.milliseconds(now), updatedAt: Timestamp.milliseconds(now))
        report.nextRunAt = Self.nextRunAt(schedule, enabled: definition.enabled, after: now)
        let row = report
        try await database.pool.write { db in try row.insert(db) }
        return report
    }

    /// Replaces a report's definition (the page it writes to stays). Nil when not found for this owner.
    public func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report? {
        let schedule = try definition.validate()
        let now = now()
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
            try Report.filter(Column("id") == id && Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId)
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
