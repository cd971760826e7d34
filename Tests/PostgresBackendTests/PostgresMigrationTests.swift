import Foundation
import PostgresNIO
import PostgresTesting
import ReportsSupport
import Testing

@testable import PostgresBackend

/// `enqueuer migrate` on PostgreSQL: one migrator at a time, and a schema from another binary refused.
@Suite("PostgreSQL migrations")
struct PostgresMigrationTests {
    @Test func twoMigratorsAtOnceTakeTurnsAndTheSchemaIsAppliedOnce() async throws {
        let cluster = try await PostgresTestCluster.shared()
        try await cluster.withEmptyDatabase { url in
            try await PostgresTestCluster.withRunning(url: url) { database in
                await #expect(throws: StoreError.notInitialised()) { try await database.requireCurrentSchema() }
                // Four hosts starting at once: without the advisory lock two would both create `jobs`
                // and all but one fail.
                let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<4 { group.addTask { try await database.migrate() } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(applied.filter { !$0.isEmpty } == [PostgresReportsDatabase.knownMigrations])
                try await database.requireCurrentSchema()
                #expect(try await database.migrate().isEmpty, "a second run has nothing to do")
                // Snapshots are stored without a compression attempt (their hashes do not compress).
                let storage = try await database.withConnection { connection in
                    try await connection.query(
                        """
                        SELECT attstorage::text FROM pg_attribute
                        WHERE attrelid = 'report_snapshots'::regclass AND attname = 'body'
                        """, logger: database.logger
                    ).collect().first?.decode(String.self)
                }
                #expect(storage == "e")
            }
        }
    }

    /// Jobs enqueued before exclusive keys existed get their report's key from the migration that
    /// added them (run here again on rows written as the older binary wrote them).
    @Test func theExclusiveKeyMigrationGivesAReportsWaitingAndRunningJobsItsKey() async throws {
        let cluster = try await PostgresTestCluster.shared()
        try await cluster.withEmptyDatabase { url in
            try await PostgresTestCluster.withRunning(url: url) { database in
                try await database.migrate()
                let migration = try #require(
                    PostgresReportsDatabase.migrations.first { $0.name == "v18-job-exclusive-key" })
                let backfill = try #require(migration.statements.first { $0.hasPrefix("UPDATE jobs") })
                let keys = try await database.withConnection { connection in
                    let report = #"{"reportId":"r-1","runId":"run-1"}"#
                    for (kind, state) in [
                        ("run-report", "available"), ("run-report", "running"), ("run-report", "succeeded"),
                        ("diagnostic", "available"),
                    ] {
                        let lease: Int64? = state == "running" ? 1 : nil
                        let finished: Int64? = state == "succeeded" ? 1 : nil
                        try await connection.query(
                            """
                            INSERT INTO jobs (kind, payload, state, run_at, created_at, lease_until, finished_at)
                            VALUES (\(kind), \(report), \(state), 0, 0, \(lease), \(finished))
                            """, logger: database.logger)
                    }
                    try await connection.query(PostgresQuery(unsafeSQL: backfill), logger: database.logger)
                    return try await connection.query(
                        "SELECT exclusive_key FROM jobs ORDER BY id", logger: database.logger
                    ).collect().map { try $0.decode(String?.self) }
                }
                #expect(keys == ["report:r-1", "report:r-1", nil, nil])
            }
        }
    }

    @Test func aSchemaFromANewerBinaryIsRefusedClearly() async throws {
        let cluster = try await PostgresTestCluster.shared()
        try await cluster.withEmptyDatabase { url in
            try await PostgresTestCluster.withRunning(url: url) { database in
                try await database.migrate()
                _ = try await database.withConnection { connection in
                    try await connection.query(
                        "INSERT INTO reports_migrations (name) VALUES ('v99-from-the-future')", logger: database.logger)
                }
                let error = try await #require(throws: StoreError.self) { try await database.requireCurrentSchema() }
                #expect(error == .schemaTooNew(unknown: []))
                #expect(
                    error.description.contains("REPORTS_DATABASE") && error.description.contains("v99-from-the-future"))
                await #expect(throws: StoreError.schemaTooNew(unknown: [])) { try await database.migrate() }
            }
        }
    }
}
