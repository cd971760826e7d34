import ArgumentParser
import Foundation
import Reports
import ServiceSetup
import StorageBackends

/// What the service holds per Jira site: `export` answers a data-subject request, `delete`
/// erases a site at once (what the uninstall grace period does on its own).
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "One Jira site's data: export it for a data-subject request, or delete it.",
        subcommands: [Export.self, Delete.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a JSON document of what is stored for a site, or for one person on it: installation, Microsoft connections, reports, runs, timestamps. Never a token or key."
        )

        @OptionGroup var scope: TenantScope

        func run() async throws {
            let (installation, account) = (scope.installation, scope.account)
            let document = try await withStorage("reports.tenant") { storage in
                try await storage.tenantExport.export(installationId: installation, accountId: account)
            }
            try printDocument(document)
            if document.isEmpty {
                FileHandle.standardError.write(Data("enqueuer: nothing is stored for this installation\n".utf8))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Delete a site and everything stored for it now (installation and system token, Microsoft connections, reports, runs and their jobs), or with --account one person's data on it (reports, runs, jobs, Microsoft connection). Prints what it deleted as JSON."
        )

        @OptionGroup var scope: TenantScope

        func run() async throws {
            let (installation, account) = (scope.installation, scope.account)
            let deletion = try await withStorage("reports.tenant") { storage in
                guard let account else { return try await storage.dataLifecycle.deleteInstallation(installation) }
                let erased = try await storage.personalData.eraseAccount(
                    installationId: installation, accountId: account)
                return erased == ErasedRows(installationId: installation) ? nil : erased
            }
            guard let deletion else {
                let what = account == nil ? "installation" : "account on this installation"
                FileHandle.standardError.write(
                    Data("enqueuer: nothing is stored for this \(what); nothing deleted\n".utf8))
                return
            }
            try printDocument(deletion)
        }
    }
}

/// `--installation ID [--account ID]`: the site, or one person on it, a tenant command works on.
struct TenantScope: ParsableArguments {
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
}

/// `enqueuer data stats`: rows per table, to see retention at work.
struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "What the database holds, in numbers.",
        subcommands: [Stats.self]
    )

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the number of rows of every table as JSON (no row contents).")

        func run() async throws {
            try printDocument(try await withStorage("reports.data") { try await $0.dataLifecycle.rowCounts() })
        }
    }
}

/// Prints a document for people to read: indented, keys sorted, dates in ISO 8601.
func printDocument(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
}
