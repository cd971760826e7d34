import ArgumentParser
import Foundation
import Logging
import ServiceSetup
import StorageBackends

/// `enqueuer copy-to-postgres`: moves an installation from SQLite to PostgreSQL (deploy/RUNBOOK.md,
/// "Moving from SQLite to PostgreSQL"). Stop `enqueuer serve`, `cron` and every worker first.
struct CopyToPostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-to-postgres",
        abstract:
            "Copy an SQLite database into an empty PostgreSQL one (all tables, ids kept, in one transaction). Stop every other process first."
    )

    @Option(help: "The SQLite database file to copy (default: REPORTS_DATABASE when it is a path).")
    var from: String?
    @Option(
        help:
            "The PostgreSQL database to fill: postgres://user@host:port/db?sslmode=… (password from REPORTS_DATABASE_PASSWORD or REPORTS_DATABASE_PASSWORD_FILE)."
    )
    var to: String

    func validate() throws {
        guard ReportsStorage.namesServer(to) else {
            throw ValidationError("--to must be a postgres:// or postgresql:// URL")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path: String
        if let from {
            path = from
        } else if let configured = environment["REPORTS_DATABASE"], !configured.isEmpty,
            !ReportsStorage.namesServer(configured)
        {
            path = configured
        } else {
            throw ValidationError("--from is needed: REPORTS_DATABASE does not name an SQLite file")
        }
        let copied = await ReportsStorage.copy(
            sqliteFile: path, toServer: to, program: "enqueuer", logger: Logger(label: "reports.copy"))
        for (table, rows) in copied { print("\(table): \(rows) rows") }
        print("copied \(copied.map(\.rows).reduce(0, +)) rows; point REPORTS_DATABASE at the PostgreSQL URL")
    }
}
