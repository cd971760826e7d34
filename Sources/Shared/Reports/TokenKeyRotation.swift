public import Foundation
public import Logging
import ReportsSupport
public import Security

/// Re-seals every stored secret under the active key (`enqueuer keys rotate`): every sealed column
/// (`columns`; `KeyRotationTests` fails when a schema has a sealed column not listed) and the forwarded
/// user tokens sealed into `run-report` job payloads (without them, runs waiting when the old key was
/// dropped would fail `token_unreadable`).
///
/// Works in batches, each its own transaction, and updates a row only if its ciphertext is still the
/// one it read, so it is safe to interrupt, to re-run, and to run while the API and workers write.
/// Rows already under the active key are skipped; a row that does not open (unknown key, tampered) is
/// counted and named by its owner ids — never its content — and left as it is. The reads and the
/// compare-and-set writes are a `SealedSecretStorage`, one per backend.
public struct TokenKeyRotation: Sendable {
    public struct Report: Sendable, Equatable {
        public var resealed = 0
        public var alreadyCurrent = 0
        public var failed = 0
    }

    /// One table column that holds vault ciphertexts.
    public struct SealedColumn: Sendable {
        public let table: String
        public let keyColumns: [String]
        public let column: String
        let context: @Sendable ([String]) -> VaultContext
    }

    static let columns: [SealedColumn] = [
        SealedColumn(table: "installations", keyColumns: ["id"], column: "system_token_ciphertext") {
            .atlassianSystemToken(installationId: $0[0])
        },
        SealedColumn(
            table: "microsoft_connections", keyColumns: ["installation_id", "account_id"],
            column: "refresh_token_ciphertext"
        ) {
            .microsoftRefreshToken(installationId: $0[0], accountId: $0[1])
        },
        SealedColumn(
            table: "microsoft_connections", keyColumns: ["installation_id", "account_id"],
            column: "access_token_ciphertext"
        ) {
            .microsoftAccessToken(installationId: $0[0], accountId: $0[1])
        },
        // A connection awaiting the user's confirmation is sealed exactly as a stored one (it moves
        // into `microsoft_connections` as it is); missed before, it kept the old key through a rotation.
        SealedColumn(
            table: "oauth_pending_connections", keyColumns: ["token_hash", "installation_id", "account_id"],
            column: "refresh_token_ciphertext"
        ) {
            .microsoftRefreshToken(installationId: $0[1], accountId: $0[2])
        },
    ]

    let storage: any SealedSecretStorage
    let vault: TokenVault
    let batchSize: Int
    let logger: Logger

    public init(storage: any SealedSecretStorage, vault: TokenVault, batchSize: Int = 200, logger: Logger) {
        self.storage = storage
        self.vault = vault
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws -> Report {
        var report = Report()
        for column in Self.columns {
            try await rotate(column, into: &report)
        }
        try await rotateJobPayloads(into: &report)
        logger.info(
            "key rotation finished",
            metadata: [
                "active_key": "\(vault.keys.active.id)", "resealed": "\(report.resealed)",
                "already_current": "\(report.alreadyCurrent)", "failed": "\(report.failed)",
            ])
        return report
    }

    private func rotate(_ column: SealedColumn, into report: inout Report) async throws {
        var after: [String]?
        while true {
            let rows = try await storage.sealedSecrets(column, after: after, limit: batchSize)
            guard let last = rows.last else { return }
            after = last.0
            var updates: [([String], Data, Data)] = []
            for (owner, sealed) in rows {
                do {
                    if try TokenVault.keyId(of: sealed) == vault.keys.active.id {
                        report.alreadyCurrent += 1
                        continue
                    }
                    let context = column.context(owner)
                    updates.append(
                        (owner, sealed, try vault.seal(try vault.open(sealed, context: context), context: context)))
                } catch {
                    report.failed += 1
                    logger.error(
                        "cannot re-seal a stored secret",
                        metadata: [
                            "table": "\(column.table)", "owner": "\(owner.joined(separator: "|"))",
                            "error": "\((error as? TokenVaultError)?.message ?? String(describing: type(of: error)))",
                        ])
                }
            }
            let written = try await storage.replaceSealedSecrets(column, updates)
            report.resealed += written
            // A row changed by someone else meanwhile was sealed by them; a re-run checks it again.
            if rows.count < batchSize { return }
        }
    }

    /// The forwarded user token inside each job payload that holds one (any state: a finished job's
    /// payload is kept until pruned, and a job can be retried). Bound to its run, so the context comes
    /// from the payload itself; a payload changed meanwhile is left for a re-run.
    private func rotateJobPayloads(into report: inout Report) async throws {
        var after: Int64 = 0
        while true {
            let rows = try await storage.sealedUserTokens(after: after, kind: RunReportJob.kind, limit: batchSize)
            guard let last = rows.last else { return }
            after = last.id
            var updates: [(id: Int64, old: String, new: String)] = []
            for row in rows {
                do {
                    guard let sealed = Base64URL.decode(row.sealed) else { throw TokenVaultError.malformed }
                    if try TokenVault.keyId(of: sealed) == vault.keys.active.id {
                        report.alreadyCurrent += 1
                        continue
                    }
                    let context = VaultContext.forwardedUserToken(installationId: row.installationId, runId: row.runId)
                    updates.append(
                        (
                            row.id, row.sealed,
                            Base64URL.encode(try vault.seal(try vault.open(sealed, context: context), context: context))
                        ))
                } catch {
                    report.failed += 1
                    logger.error(
                        "cannot re-seal a stored secret",
                        metadata: [
                            "table": "jobs", "owner": "job \(row.id)",
                            "error": "\((error as? TokenVaultError)?.message ?? String(describing: type(of: error)))",
                        ])
                }
            }
            report.resealed += try await storage.replaceUserTokens(updates)
            if rows.count < batchSize { return }
        }
    }
}

/// A forwarded user token sealed inside a `run-report` job's payload.
public struct SealedUserToken: Sendable {
    let id: Int64
    /// base64url vault ciphertext, as the payload holds it.
    let sealed: String
    let installationId: String
    let runId: String

    public init(id: Int64, sealed: String, installationId: String, runId: String) {
        self.id = id
        self.sealed = sealed
        self.installationId = installationId
        self.runId = runId
    }
}

/// The database's part of key rotation: pages of sealed values in key order, and writes that replace a
/// value only if it is still the one read (compare-and-set), each page its own transaction.
public protocol SealedSecretStorage: Sendable {
    /// Up to `limit` non-null values of `column` with their key columns, after `after` in key order.
    func sealedSecrets(_ column: TokenKeyRotation.SealedColumn, after: [String]?, limit: Int) async throws
        -> [([String], Data)]
    /// Writes each `(key, old, new)` where the value is still `old`; returns how many were written.
    func replaceSealedSecrets(_ column: TokenKeyRotation.SealedColumn, _ updates: [([String], Data, Data)])
        async throws -> Int
    /// Up to `limit` jobs of `kind` after id `after` whose payload holds a `userToken`.
    func sealedUserTokens(after: Int64, kind: String, limit: Int) async throws -> [SealedUserToken]
    /// Replaces each payload's `userToken` where it is still `old`; returns how many were written.
    func replaceUserTokens(_ updates: [(id: Int64, old: String, new: String)]) async throws -> Int
}
