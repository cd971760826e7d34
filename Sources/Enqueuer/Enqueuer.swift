import ArgumentParser
import Foundation
import Logging
import ServiceSetup
import StorageBackends
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
        let applied = await ReportsStorage.migrate(
            ProcessSupport.loadConfiguration(program: "enqueuer"), program: "enqueuer",
            logger: Logger(label: "reports.migrate"))
        print(applied.isEmpty ? "schema is up to date" : "applied migrations: \(applied.joined(separator: ", "))")
    }
}

/// Runs an operator command's `body` on the configured storage, whichever backend it is.
func withStorage<Result: Sendable>(_ label: String, _ body: (ReportsStorage) async throws -> Result) async throws
    -> Result
{
    try await ReportsStorage.with(
        ProcessSupport.loadConfiguration(program: "enqueuer"), program: "enqueuer", logger: Logger(label: label), body)
}

/// Prints one JSON object on one line.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
