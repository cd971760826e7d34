import Logging
import PostgresNIO
import ReportsSupport

extension PostgresReportsDatabase {
    /// A schema step: its name (numbered like SQLite's, so `enqueuer migrate` reports one version
    /// whichever backend it migrated) and its statements, run in one transaction.
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// The PostgreSQL schema. Its first step is SQLite's schema as of `v7` in one go (times are integer
    /// milliseconds since the epoch, as there); later steps come in pairs with SQLite's, under the same
    /// number. Frozen: `REPORTS_DATABASE` selects PostgreSQL in production, so changes are new steps.
    static let migrations: [Migration] = [
        Migration(name: "v7-initial-schema", statements: PostgresSchema.queue + PostgresSchema.stores),
        // Finished runs older than the retention period are found by age, not by a scan.
        Migration(name: "v8-run-retention", statements: ["CREATE INDEX runs_by_age ON runs (queued_at)"]),
        // When each site's account ids are next reported to Atlassian (NULL: at once).
        Migration(
            name: "v9-personal-data-reporting",
            statements: ["ALTER TABLE installations ADD COLUMN accounts_report_at BIGINT"]),
        // The second security review (SQLite's v10 says why each part exists).
        Migration(name: "v10-request-record-and-token-erasure", statements: PostgresSchema.requestRecord),
        // A run's status has one writer: the stores and the queue apply `RunFollowsJob` in the
        // transaction of each change, so v7's trigger function, a second writer of the same rule, goes.
        Migration(
            name: "v11-runs-follow-jobs-in-code",
            statements: [
                "DROP TRIGGER runs_follow_their_job ON jobs", "DROP FUNCTION runs_follow_their_job()",
            ]),
        // How each report's page is laid out (SQLite's v12 says more).
        Migration(
            name: "v12-page-layout",
            statements: [
                "ALTER TABLE reports ADD COLUMN layout text NOT NULL DEFAULT '{}' CHECK (length(layout) <= 1000)"
            ]),
        // What each report's page showed at its last successful run (SQLite's v13 says more).
        Migration(
            name: "v13-report-snapshots",
            statements: [
                """
                CREATE TABLE report_snapshots (
                    report_id text PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
                    taken_at bigint NOT NULL,
                    body bytea NOT NULL CHECK (length(body) <= 4000000)
                )
                """
            ]),
        // A snapshot is mostly 32-bit hashes, which do not compress: `EXTERNAL` keeps it out of line
        // without trying, which took most of a 5,000-issue snapshot's write (BENCHMARKS.md).
        Migration(
            name: "v14-snapshots-stored-uncompressed",
            statements: ["ALTER TABLE report_snapshots ALTER COLUMN body SET STORAGE EXTERNAL"]),
        // Whether the site's licence of the app is active (SQLite's v15 says more).
        Migration(
            name: "v15-installation-license",
            statements: ["ALTER TABLE installations ADD COLUMN license_active boolean"]),
        // A site admin's pause of every schedule of the site, and runs by site and age (SQLite's v16).
        Migration(
            name: "v16-site-administration",
            statements: [
                "ALTER TABLE installations ADD COLUMN schedules_paused_at bigint",
                "CREATE INDEX runs_by_installation ON runs(installation_id, queued_at)",
            ]),
        // The enqueuer's trace for the worker's spans (SQLite's v17).
        Migration(
            name: "v17-job-trace-parent",
            statements: ["ALTER TABLE jobs ADD COLUMN trace_parent text CHECK (length(trace_parent) <= 55)"]),
        // One job of a key runs at a time; a report's runs share one (SQLite's v18 says more). The head
        // index carries the key so the lease still reads the head without the table.
        Migration(
            name: "v18-job-exclusive-key",
            statements: [
                "ALTER TABLE jobs ADD COLUMN exclusive_key text CHECK (length(exclusive_key) BETWEEN 1 AND 300)",
                """
                UPDATE jobs SET exclusive_key = 'report:' || (payload::jsonb ->> 'reportId')
                WHERE kind = 'run-report' AND state IN ('available', 'running')
                    AND length(payload::jsonb ->> 'reportId') BETWEEN 1 AND 290
                """,
                "DROP INDEX jobs_fair",
                """
                CREATE INDEX jobs_fair ON jobs (priority DESC, vtime, id) INCLUDE (run_at, fairness_key, exclusive_key)
                WHERE state = 'available'
                """,
                """
                CREATE INDEX jobs_running_by_exclusive_key ON jobs (exclusive_key)
                WHERE state = 'running' AND exclusive_key IS NOT NULL
                """,
            ]),
    ]

    public static var knownMigrations: [String] { migrations.map(\.name) }

    /// The key of the advisory lock migrators hold, so two `enqueuer migrate` (or two hosts starting at
    /// once) take turns instead of racing to create the same tables. Any 64-bit number unique to this
    /// application serves; this one spells "reports" in ASCII.
    static let migrationLockKey: Int64 = 0x7265_706F_7274_73

    /// Applies every pending migration, each in its own transaction, under a session advisory lock.
    /// Returns the names it applied.
    @discardableResult
    public func migrate() async throws -> [String] {
        do {
            return try await withConnection { connection in
                try await connection.checkedQuery("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger)
                do {
                    let applied = try await Self.migrate(connection, logger: logger)
                    try await connection.checkedQuery(
                        "SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                    return applied
                } catch {
                    // The lock is the session's: a closed connection has released it already (and a
                    // statement sent on it would never be answered).
                    if !connection.isClosed && !PostgresAvailability.isConnectionLost(error) {
                        _ = try? await connection.checkedQuery(
                            "SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                    }
                    throw error
                }
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PSQLError {
            throw StoreError.migrationFailed(PostgresAvailability.describe(error))
        }
    }

    private static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.checkedQuery(
            """
            CREATE TABLE IF NOT EXISTS reports_migrations (
                name TEXT PRIMARY KEY NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
            """, logger: logger)
        let applied = try await appliedMigrations(connection, logger: logger)
        let unknown = applied.filter { !knownMigrations.contains($0) }
        if !unknown.isEmpty { throw StoreError.schemaTooNew(unknown: unknown) }
        var done: [String] = []
        for migration in migrations where !applied.contains(migration.name) {
            try await connection.checkedQuery("BEGIN", logger: logger)
            do {
                for statement in migration.statements {
                    try await connection.checkedQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.checkedQuery(
                    "INSERT INTO reports_migrations (name) VALUES (\(migration.name))", logger: logger)
                try await connection.checkedQuery("COMMIT", logger: logger)
            } catch {
                if !connection.isClosed && !PostgresAvailability.isConnectionLost(error) {
                    _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
                }
                throw error
            }
            done.append(migration.name)
        }
        return done
    }

    private static func appliedMigrations(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var names: [String] = []
        let rows = try await connection.checkedQuery(
            "SELECT name FROM reports_migrations ORDER BY name", logger: logger)
        for try await name in rows.decode(String.self) { names.append(name) }
        return names
    }

    /// Refuses a database with no schema, or one made by an older or newer binary (the same rules and
    /// messages as SQLite's).
    public func requireCurrentSchema() async throws {
        let applied: [String]
        do {
            applied = try await withConnection { connection in
                let exists =
                    try await connection.checkedQuery(
                        "SELECT to_regclass('reports_migrations') IS NOT NULL", logger: logger
                    ).collect().first?.decode(Bool.self) ?? false
                return exists ? try await Self.appliedMigrations(connection, logger: logger) : []
            }
        } catch let error as PSQLError {
            throw StoreError.cannotOpen(PostgresAvailability.describe(error))
        }
        try StoreError.requireSchema(applied: applied, known: Self.knownMigrations)
    }
}
