import Foundation
import GRDB
import TestSupport
import Testing

@testable import SQLiteBackend

/// Jobs enqueued before exclusive keys existed get their report's key when the file is migrated, so a
/// report's waiting and running jobs keep running one at a time across the upgrade.
@Suite("Exclusive key migration")
struct ExclusiveKeyMigrationTests {
    @Test func waitingAndRunningJobsOfAReportGetItsKeyAndFinishedOrOtherJobsDoNot() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let queue = try DatabaseQueue(path: directory.file("reports.sqlite"))
        try ReportsDatabase.migrator.migrate(queue, upTo: "v17-job-trace-parent")
        try queue.write { db in
            let insert = """
                INSERT INTO jobs (kind, payload, state, run_at, created_at, lease_until, finished_at)
                VALUES (?, ?, ?, 0, 0, ?, ?)
                """
            let report = #"{"reportId":"r-1","runId":"run-1"}"#
            try db.execute(sql: insert, arguments: ["run-report", report, "available", nil, nil])
            try db.execute(sql: insert, arguments: ["run-report", report, "running", 1, nil])
            try db.execute(sql: insert, arguments: ["run-report", report, "succeeded", nil, 1])
            try db.execute(sql: insert, arguments: ["diagnostic", report, "available", nil, nil])
        }
        try ReportsDatabase.migrator.migrate(queue)
        let keys = try queue.read { db in
            try String?.fetchAll(db, sql: "SELECT exclusive_key FROM jobs ORDER BY id")
        }
        #expect(keys == ["report:r-1", "report:r-1", nil, nil])
    }
}
