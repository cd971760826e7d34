import ArgumentParser
import Foundation
import ReportsSupport
import ServiceSetup
import StorageBackends

/// `enqueuer backup --to FILE`: an online, consistent copy of the database while everything runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent copy of the database to a new file while the service keeps running (RUNBOOK.md).")

    @Option(name: .customLong("to"), help: "The new backup file (must not exist).")
    var destination: String

    func run() async throws {
        let summary = await ReportsStorage.backup(
            ProcessSupport.loadConfiguration(program: "enqueuer"), to: destination, program: "enqueuer")
        print("backup written: \(summary.bytes) bytes, integrity ok, schema \(summary.migrations.last ?? "empty")")
    }
}
