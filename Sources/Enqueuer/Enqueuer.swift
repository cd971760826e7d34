import ArgumentParser
import Foundation
import JobQueue
import JobQueuePostgres
import JobQueueSQLite
import Logging
import PostgresStorage
import Reports
import ReportsPostgres
import ReportsSQLite
import ReportsSupport
import SQLiteStorage
import ServiceSetup
import Transport

@main
struct Enqueuer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueuer",
        abstract: "The OneNote Reports API side: the API, the scheduler, migrations, queue administration and keys.",
        subcommands: [
            ServeCommand.self, CronCommand.self, Migrate.self, QueueCommand.self, KeysCommand.self,
            BackupCommand.self, CheckUpstreamCommand.self, CopyToPostgresCommand.self, TenantCommand.self,
            DataCommand.self,
        ]
    )

    /// JSON logs for every subcommand; a bad `REPORTS_LOG_LEVEL` is reported by the command itself
    /// when it reads the configuration.
    static func main() async {
        ProcessSupport.restrictFileModes()
        guard OutboundTLSFloor.install() else {
            ProcessSupport.fail(
                program: "enqueuer", "cannot set the outbound TLS 1.2 floor: no writable temporary directory (TMPDIR)")
        }
        let level = (try? ReportsConfiguration(environment: ProcessInfo.processInfo.environment))?.logLevel ?? .info
        ProcessSupport.bootstrapLogging(level: level)
        await main(nil)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database or bring its schema up to date (the only command that changes the schema).")

    func run() async throws {
        let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
        do {
            let applied: [String]
            if let url = settings.postgresURL {
                // Several hosts may run this at once: the migrator takes turns on an advisory lock.
                applied = try await PostgresReportsDatabase.withTemporaryClient(
                    settings: postgresSettings(url), logger: Logger(label: "reports.migrate")
                ) { database in try await database.migrate() }
            } else {
                applied = try ReportsDatabase.migrate(path: settings.databasePath)
            }
            print(applied.isEmpty ? "schema is up to date" : "applied migrations: \(applied.joined(separator: ", "))")
        } catch let error as StoreError {
            ProcessSupport.fail(program: "enqueuer", error.message)
        }
    }
}

/// The PostgreSQL settings of `REPORTS_DATABASE`, or the process stops naming what is wrong.
func postgresSettings(_ url: String) -> PostgresSettings {
    do {
        return try PostgresSettings(url: url, environment: ProcessInfo.processInfo.environment)
    } catch {
        ProcessSupport.fail(program: "enqueuer", "\(error)", exitCode: ProcessSupport.configurationExitCode)
    }
}

/// The PostgreSQL database of a long-running command, its schema checked first (a short-lived client,
/// since the returned one runs only in the command's `ServiceGroup`), or the process stops naming
/// what is wrong.
func openPostgres(_ url: String, logger: Logger) async -> PostgresReportsDatabase {
    let settings = postgresSettings(url)
    do {
        try await PostgresReportsDatabase.withTemporaryClient(settings: settings, logger: logger) { database in
            try await database.requireCurrentSchema()
        }
        return try PostgresReportsDatabase(settings: settings, logger: logger)
    } catch let error as StoreError {
        ProcessSupport.fail(program: "enqueuer", error.message)
    } catch {
        ProcessSupport.fail(program: "enqueuer", "cannot open the PostgreSQL database (\(type(of: error)))")
    }
}

/// Runs an operator command's `body` with the queue and the storage readings of the configured backend
/// (for PostgreSQL, a client that runs only meanwhile, after the schema is checked).
func withQueue<Result: Sendable>(
    _ body: (any JobQueue, any StorageReadings) async throws -> Result
) async throws -> Result {
    let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
    guard let url = settings.postgresURL else {
        let queue = openQueue()
        return try await body(queue, SQLiteStorageReadings(database: queue.database))
    }
    do {
        return try await PostgresReportsDatabase.withTemporaryClient(
            settings: postgresSettings(url), logger: Logger(label: "reports.queue")
        ) { database in
            try await database.requireCurrentSchema()
            return try await body(
                PostgresJobQueue(database: database, fairness: settings.limits.fairness),
                PostgresStorageReadings(database: database))
        }
    } catch let error as StoreError {
        ProcessSupport.fail(program: "enqueuer", error.message)
    }
}

/// Opens the SQLite database and the queue, or stops the process with a clear message.
func openQueue() -> SQLiteJobQueue {
    let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
    do {
        return SQLiteJobQueue(
            database: try ReportsDatabase.open(path: settings.databasePath), fairness: settings.limits.fairness)
    } catch let error as StoreError {
        ProcessSupport.fail(program: "enqueuer", error.message)
    } catch {
        ProcessSupport.fail(program: "enqueuer", "cannot open the database (\(type(of: error)))")
    }
}

/// Prints one JSON object on one line.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
