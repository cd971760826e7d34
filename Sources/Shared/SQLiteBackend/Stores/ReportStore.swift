public import Foundation
package import GRDB
public import Reports
import ReportsSupport

/// Report definitions, always scoped by owner: another user's or installation's report is simply not
/// found (the API answers 404, never 403, so ids reveal nothing).
public struct ReportStore: Sendable {
    public let database: ReportsDatabase
    /// Reports per user and per site, and the shortest schedule interval.
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

    public func requireWriteAllowance(_ owner: ReportOwner) async throws {
        let (limit, now) = (limits.reportWriteLimit, Timestamp.milliseconds(now()))
        let recent = try await database.pool.read { db in try UserRequestRecords.recent(db, owner, limit, now: now) }
        try limit.admit(recent: recent, now: now)
    }

    /// Creates a report. The installation must be known (it is stored from the first verified FIT).
    /// Counted against the owner's report writes per minute (`UserRateLimitExceeded`) and the quotas.
    public func create(_ owner: ReportOwner, _ definition: ReportDefinition) async throws -> Report {
        let schedule = try definition.validate()
        try limits.checkInterval(schedule)
        let report = Report(
            id: UUID().uuidString.lowercased(), owner: owner, definition: definition, schedule: schedule, now: now())
        let limits = limits
        try await database.pool.write { db in
            try UserRequestRecords.admit(db, owner, limits.reportWriteLimit, now: report.createdAt)
            try Self.insert(db, report, limits: limits)
        }
        return report
    }

    /// A new report's row, in the caller's write transaction: the quotas are counted there, so two
    /// creates at once cannot both take the last place. (The body fuzz target stores through it.)
    package static func insert(_ db: Database, _ report: Report, limits: TenantLimits) throws {
        let mine = try Report.filter(
            Column("installation_id") == report.installationId && Column("owner_account_id") == report.ownerAccountId
        ).fetchCount(db)
        let site = try Report.filter(Column("installation_id") == report.installationId).fetchCount(db)
        try limits.checkQuota(mine: mine, site: site)
        try report.insert(db)
    }

    /// Replaces a report's definition (the page it writes to stays). Nil when not found for this owner.
    public func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report? {
        let schedule = try definition.validate()
        let now = now()
        let limits = limits
        return try await database.pool.write { db -> Report? in
            try UserRequestRecords.admit(db, owner, limits.reportWriteLimit, now: Timestamp.milliseconds(now))
            guard var report = try Self.fetch(db, owner, id) else { return nil }
            // A schedule kept as it was stays, even if it is more frequent than today's limit allows.
            if report.scheduleCron != definition.schedule?.cron { try limits.checkInterval(schedule) }
            report.apply(definition, schedule: schedule, now: now)
            try report.update(db)
            return report
        }
    }

    public func delete(_ owner: ReportOwner, id: String) async throws -> Bool {
        let (limits, now) = (limits, Timestamp.milliseconds(now()))
        return try await database.pool.write { db in
            try UserRequestRecords.admit(db, owner, limits.reportWriteLimit, now: now)
            return try Report.filter(
                Column("id") == id && Column("installation_id") == owner.installationId
                    && Column("owner_account_id") == owner.accountId
            )
            .deleteAll(db) > 0
        }
    }
}
