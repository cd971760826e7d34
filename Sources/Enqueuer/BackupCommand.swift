import ArgumentParser
import Foundation
import ReportsSupport
import SQLiteStorage
import ServiceSetup

/// `enqueuer backup --to FILE`: an online, consistent copy of the database while everything runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database to a new file while the service keeps running (RUNBOOK.md).")

    @Option(name: .customLong("to"), help: "The new backup file (must not exist).")
    var destination: String

    func run() async throws {
        let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
        if settings.postgresURL != nil {
            // PostgreSQL has its own consistent online backup; copying its files is not one.
            ProcessSupport.fail(
                program: "enqueuer",
                "REPORTS_DATABASE names PostgreSQL: back it up with pg_dump (`pg_dump --format=custom --file=reports.dump DATABASE`, RUNBOOK.md), not with this command",
                exitCode: ProcessSupport.configurationExitCode)
        }
        let database: ReportsDatabase
        do {
            database = try ReportsDatabase.open(path: settings.databasePath)
        } catch let error as StoreError {
            ProcessSupport.fail(program: "enqueuer", error.message)
        }
        do {
            let summary = try await database.backup(to: destination)
            print("backup written: \(summary.bytes) bytes, integrity ok, schema \(summary.migrations.last ?? "empty")")
        } catch let error as BackupError {
            ProcessSupport.fail(program: "enqueuer", "backup: \(error.message)")
        }
    }
}
