import Foundation
import GRDB
import Reports
import SQLiteBackend

/// A temporary SQLite file with the real schema, for the body target: every report the validation
/// accepts is stored through the store's own insert (quotas and all) and replaced through its update, in
/// a transaction that is then rolled back, so the file stays empty and every input meets the schema's
/// CHECKs and types as the first row. What validation lets through can never fail the database.
final class FuzzStore: Sendable {
    static let shared = FuzzStore()

    static let owner = ReportOwner(
        installationId: "ari:cloud:ecosystem::installation/fuzz", accountId: "557058:fuzz")

    let path: String
    let database: ReportsDatabase

    private init() {
        path = NSTemporaryDirectory() + "reports-fuzz-\(ProcessInfo.processInfo.processIdentifier).sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        do {
            _ = try ReportsDatabase.migrate(path: path)
            database = try ReportsDatabase.open(path: path)
            try database.pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO installations (id, cloud_id, api_base_url, first_seen_at, last_seen_at)
                        VALUES (?, 'fuzz', 'https://api.atlassian.com/ex/jira/fuzz', 0, 0)
                        """, arguments: [Self.owner.installationId])
            }
        } catch {
            fatalError("the fuzz store could not be made: \(error)")
        }
    }

    /// Stores `definition` as a new report and writes it again as an update, then rolls both back.
    func storeAndRollBack(_ definition: ReportDefinition, schedule: CronSchedule?) throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try database.pool.writeWithoutTransaction { db in
            try db.inTransaction {
                var report = Report(
                    id: UUID().uuidString.lowercased(), owner: Self.owner, definition: definition, schedule: schedule,
                    now: now)
                try ReportStore.insert(db, report, limits: TenantLimits())
                report.apply(definition, schedule: schedule, now: now.addingTimeInterval(60))
                try report.update(db)
                return .rollback
            }
        }
    }

    /// Removes the file (the replay's end; libFuzzer's runs leave it in the temporary folder).
    func remove() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
