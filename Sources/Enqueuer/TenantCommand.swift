import ArgumentParser
import Foundation
import JobQueueSQLite
import Logging
import PostgresStorage
import Reports
import ReportsPostgres
import ReportsSQLite
import ServiceSetup

/// What the service holds per Jira site (issue #18): `export` answers a data-subject request.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "One Jira site's data: export it for a data-subject request.",
        subcommands: [Export.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a JSON document of what is stored for a site, or for one person on it: installation, Microsoft connections, reports, runs, timestamps. Never a token or key."
        )

        @Option(help: "The Forge installation id (the FIT's app.installationId).") var installation: String
        @Option(help: "Only this Atlassian account's data on that site.") var account: String?

        func validate() throws {
            guard (1...300).contains(installation.count) else {
                throw ValidationError("--installation must be 1 to 300 characters")
            }
            if let account, !(1...128).contains(account.count) {
                throw ValidationError("--account must be 1 to 128 characters")
            }
        }

        func run() async throws {
            let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
            let document: TenantExport
            if let url = settings.postgresURL {
                document = try await PostgresReportsDatabase.withTemporaryClient(
                    settings: postgresSettings(url), logger: Logger(label: "reports.tenant")
                ) { database in
                    try await database.requireCurrentSchema()
                    return try await PostgresTenantExport(database: database).export(
                        installationId: installation, accountId: account)
                }
            } else {
                document = try await SQLiteTenantExport(database: openQueue().database).export(
                    installationId: installation, accountId: account)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            FileHandle.standardOutput.write(try encoder.encode(document) + Data("\n".utf8))
            if document.isEmpty {
                FileHandle.standardError.write(Data("enqueuer: nothing is stored for this installation\n".utf8))
            }
        }
    }
}
