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
        try limits.checkInterval(schedule)
        let report = Report(
            id: UUID().uuidString.lowercased(), owner: owner, definition: definition, schedule: schedule, now: now())
        let limits = limits
        try await database.pool.write { db in
            // Counted in the write transaction, so two creates at once cannot both take the last place.
            let mine = try Report.filter(
                Column("installation_id") == owner.installationId && Column("owner_account_id") == owner.accountId
            ).fetchCount(db)
            let site = try Report.filter(Column("installation_id") == owner.installationId).fetchCount(db)
            try limits.checkQuota(mine: mine, site: site)
            try report.insert(db)
        }
        return report
    }

    /// Replaces a report's definition (the page it writes to stays). Nil when not found for this owner.
    public func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report? {
        let schedule = try definition.validate()
        let now = now()
        let existing = try await get(owner, id: id)
        // A schedule kept as it was stays, even if it is more frequent than today's limit allows.
        if existing?.scheduleCron != definition.schedule?.cron { try limits.checkInterval(schedule) }
        return try await database.pool.write { db -> Report? in
            guard var report = try Self.fetch(db, owner, id) else { return nil }
            report.apply(definition, schedule: schedule, now: now)
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
}
