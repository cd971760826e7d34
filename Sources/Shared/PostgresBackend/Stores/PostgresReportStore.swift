public import Foundation
import Logging
import PostgresNIO
public import Reports
import ReportsSupport

/// Report definitions on PostgreSQL, always scoped by owner (another user's or site's report is not
/// found), with the quotas and schedule limits of `ReportRules`.
public struct PostgresReportStore: ReportDefinitions {
    public let database: PostgresReportsDatabase
    public let limits: TenantLimits
    private let now: @Sendable () -> Date

    public init(
        database: PostgresReportsDatabase, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.limits = limits
        self.now = now
    }

    public func requireWriteAllowance(_ owner: ReportOwner) async throws {
        let (limit, now, logger) = (limits.reportWriteLimit, Timestamp.milliseconds(now()), database.logger)
        let recent = try await database.withConnection { connection in
            try await PostgresUserRequests.recent(connection, owner, limit, now: now, logger)
        }
        try limit.admit(recent: recent, now: now)
    }

    public func list(_ owner: ReportOwner) async throws -> [Report] {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT \(unescaped: ReportRow.columns) FROM reports
                WHERE installation_id = \(owner.installationId) AND owner_account_id = \(owner.accountId)
                ORDER BY created_at, id
                """, logger: logger
            ).collect().map(ReportRow.decode)
        }
    }

    public func get(_ owner: ReportOwner, id: String) async throws -> Report? {
        try await database.withConnection { connection in try await Self.fetch(connection, owner, id, database.logger) }
    }

    static func fetch(_ connection: PostgresConnection, _ owner: ReportOwner, _ id: String, _ logger: Logger)
        async throws -> Report?
    {
        try await connection.checkedQuery(
            """
            SELECT \(unescaped: ReportRow.columns) FROM reports
            WHERE id = \(id) AND installation_id = \(owner.installationId) AND owner_account_id = \(owner.accountId)
            """, logger: logger
        ).collect().first.map(ReportRow.decode)
    }

    /// Creates a report. Two creates at once on one site take turns on a transaction-scoped advisory lock
    /// of the site, so they cannot both take the last place under a quota (PostgreSQL's default
    /// isolation would let each count without the other's row).
    public func create(_ owner: ReportOwner, _ definition: ReportDefinition) async throws -> Report {
        let schedule = try definition.validate()
        try limits.checkInterval(schedule)
        let report = Report(
            id: UUID().uuidString.lowercased(), owner: owner, definition: definition, schedule: schedule, now: now())
        let (limits, logger) = (limits, database.logger)
        try await database.withTransaction { connection in
            try await PostgresUserRequests.admit(
                connection, owner, limits.reportWriteLimit, now: report.createdAt, logger)
            try await connection.checkedQuery(
                "SELECT pg_advisory_xact_lock(\(PostgresLocks.reportQuota), hashtext(\(owner.installationId)))",
                logger: logger)
            let counts =
                try await connection.checkedQuery(
                    """
                    SELECT count(*) FILTER (WHERE owner_account_id = \(owner.accountId)), count(*)
                    FROM reports WHERE installation_id = \(owner.installationId)
                    """, logger: logger
                ).collect().first?.decode((Int, Int).self) ?? (0, 0)
            try limits.checkQuota(mine: counts.0, site: counts.1)
            try await connection.checkedQuery(
                """
                INSERT INTO reports (id, installation_id, owner_account_id, name, jql, filter_id, columns, section_id,
                    schedule_cron, schedule_time_zone, enabled, next_run_at, created_at, updated_at, layout)
                VALUES (\(report.id), \(report.installationId), \(report.ownerAccountId), \(report.name),
                    \(report.jql), \(report.filterId), \(report.columns), \(report.location), \(report.scheduleCron),
                    \(report.scheduleTimeZone), \(report.enabled), \(report.nextRunAt), \(report.createdAt),
                    \(report.updatedAt), \(report.layout))
                """, logger: logger)
        }
        return report
    }

    /// Replaces a report's definition (the page it writes to stays). Nil when not found for this owner.
    public func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report? {
        let schedule = try definition.validate()
        let now = now()
        let logger = database.logger
        return try await database.withTransaction { connection -> Report? in
            try await PostgresUserRequests.admit(
                connection, owner, limits.reportWriteLimit, now: Timestamp.milliseconds(now), logger)
            guard var report = try await Self.fetchForUpdate(connection, owner, id, logger) else { return nil }
            // A schedule kept as it was stays, even if it is more frequent than today's limit allows.
            if report.scheduleCron != definition.schedule?.cron { try limits.checkInterval(schedule) }
            report.apply(definition, schedule: schedule, now: now)
            try await connection.checkedQuery(
                """
                UPDATE reports SET name = \(report.name), jql = \(report.jql), filter_id = \(report.filterId),
                    columns = \(report.columns), section_id = \(report.location), layout = \(report.layout),
                    schedule_cron = \(report.scheduleCron), schedule_time_zone = \(report.scheduleTimeZone),
                    enabled = \(report.enabled), next_run_at = \(report.nextRunAt), updated_at = \(report.updatedAt)
                WHERE id = \(id)
                """, logger: logger)
            return report
        }
    }

    private static func fetchForUpdate(
        _ connection: PostgresConnection, _ owner: ReportOwner, _ id: String, _ logger: Logger
    ) async throws -> Report? {
        try await connection.checkedQuery(
            """
            SELECT \(unescaped: ReportRow.columns) FROM reports
            WHERE id = \(id) AND installation_id = \(owner.installationId) AND owner_account_id = \(owner.accountId)
            FOR UPDATE
            """, logger: logger
        ).collect().first.map(ReportRow.decode)
    }

    public func delete(_ owner: ReportOwner, id: String) async throws -> Bool {
        let (logger, limits, now) = (database.logger, limits, Timestamp.milliseconds(now()))
        return try await database.withTransaction { connection in
            try await PostgresUserRequests.admit(connection, owner, limits.reportWriteLimit, now: now, logger)
            return try await connection.checkedQuery(
                """
                DELETE FROM reports
                WHERE id = \(id) AND installation_id = \(owner.installationId) AND owner_account_id = \(owner.accountId)
                RETURNING 1
                """, logger: logger
            ).collect().count == 1
        }
    }
}

/// The first key of the two-key advisory locks the stores take (the second is a hash of what is
/// locked), so they never collide with the queue's one-key locks or with each other.
enum PostgresLocks {
    static let reportQuota: Int32 = 1
    /// A user's requests of one kind (`PostgresUserRequests`).
    static let userRequests: Int32 = 2
    static let onenoteBudget: Int32 = 3
}
