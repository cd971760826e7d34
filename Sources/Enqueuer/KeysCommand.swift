import ArgumentParser
import Crypto
import Foundation
import Logging
import Reports
import Security
import ServiceSetup
import StorageBackends

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate keys and re-encrypt stored secrets under the active key.",
        subcommands: [Generate.self, Rotate.self]
    )
}

extension KeysCommand {
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print a new 256-bit key: an `id:base64key` entry for REPORTS_TOKEN_KEYS, or with --state a value for REPORTS_STATE_KEY."
        )

        @Flag(help: "Print a key for REPORTS_STATE_KEY (no id).") var state = false
        @Option(help: "The key id (default: k<date>-<random>).") var id: String?

        func validate() throws {
            if let id, !TokenKeyRing.isValidKeyId(id) {
                throw ValidationError("--id must be 1-32 of A-Z a-z 0-9 . _ -")
            }
        }

        func run() async throws {
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            if state {
                print(key)
                return
            }
            let date = Date().formatted(.iso8601.year().month().day().dateSeparator(.omitted))
            let suffix = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0.prefix(2)) }.map {
                String(format: "%02x", $0)
            }.joined()
            print("\(id ?? "k\(date)-\(suffix)"):\(key)")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-encrypt every stored secret under the first key of REPORTS_TOKEN_KEYS, in batches; safe to interrupt and re-run."
        )

        @Option(name: .customLong("batch-size"), help: "Rows per transaction.") var batchSize = 200

        func validate() throws {
            guard (1...10_000).contains(batchSize) else {
                throw ValidationError("--batch-size must be between 1 and 10000")
            }
        }

        func run() async throws {
            let keys: TokenKeyRing
            do {
                keys = try TokenKeyRing(environment: ProcessInfo.processInfo.environment)
            } catch {
                ProcessSupport.fail(program: "enqueuer", "\(error)", exitCode: ProcessSupport.configurationExitCode)
            }
            let (vault, logger) = (TokenVault(keys: keys), Logger(label: "reports.keys"))
            let report = try await withStorage("reports.keys") { storage in
                try await TokenKeyRotation(
                    storage: storage.sealedSecrets, vault: vault, batchSize: batchSize, logger: logger
                ).run()
            }
            print(
                "re-sealed \(report.resealed), already under \(keys.active.id) \(report.alreadyCurrent), failed \(report.failed)"
            )
            if report.failed > 0 {
                ProcessSupport.fail(
                    program: "enqueuer",
                    "\(report.failed) stored secrets could not be opened with the configured keys; see the log")
            }
        }
    }
}
