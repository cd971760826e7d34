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
