import Foundation
import GRDB
public import Logging
import Reports
public import SQLiteStorage
public import Security

/// Re-seals every stored secret under the active key (`enqueuer keys rotate`): the token columns and
/// the forwarded user tokens sealed into `run-report` job payloads (missed before issue #14, so runs
/// waiting when the old key was dropped failed `token_unreadable`).
///
/// Works in batches, each its own transaction, and updates a row only if its ciphertext is still the
/// one it read, so it is safe to interrupt, to re-run, and to run while the API and workers write.
/// Rows already under the active key are skipped; a row that does not open (unknown key, tampered) is
/// counted and named by its owner ids — never its content — and left as it is.
public struct TokenKeyRotation: Sendable {
    public struct Report: Sendable, Equatable {
        public var resealed = 0
        public var alreadyCurrent = 0
        public var failed = 0
    }

    /// One table column that holds vault ciphertexts.
    struct SealedColumn: Sendable {
        let table: String
        let keyColumns: [String]
        let column: String
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
    ]

    public let database: ReportsDatabase
    public let vault: TokenVault
    public let batchSize: Int
    public let logger: Logger

    public init(database: ReportsDatabase, vault: TokenVault, batchSize: Int = 200, logger: Logger) {
        self.database = database
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
        let keys = column.keyColumns.joined(separator: ", ")
        let tuple = column.keyColumns.count == 1 ? column.keyColumns[0] : "(\(keys))"
        let placeholders =
            column.keyColumns.count == 1 ? "?" : "(\(column.keyColumns.map { _ in "?" }.joined(separator: ", ")))"
        var after: [String]?
        while true {
            let cursor = after
            let rows = try await database.pool.read { db -> [([String], Data)] in
                let whereAfter = cursor == nil ? "" : "AND \(tuple) > \(placeholders)"
                let sql = """
                    SELECT \(keys), \(column.column) FROM \(column.table)
                    WHERE \(column.column) IS NOT NULL \(whereAfter)
                    ORDER BY \(keys) LIMIT ?
                    """
                var values: [(any DatabaseValueConvertible)?] = (cursor ?? []).map { $0 }
                values.append(batchSize)
                let arguments = StatementArguments(values)
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    ((0..<column.keyColumns.count).map { row[$0] as String }, row[column.keyColumns.count] as Data)
                }
            }
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
            let pending = updates
            let written = try await database.pool.write { db -> Int in
                var written = 0
                let conditions = column.keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
                for (owner, old, new) in pending {
                    var values: [(any DatabaseValueConvertible)?] = [new]
                    values += owner.map { $0 }
                    values.append(old)
                    try db.execute(
                        sql:
                            "UPDATE \(column.table) SET \(column.column) = ? WHERE \(conditions) AND \(column.column) = ?",
                        arguments: StatementArguments(values))
                    written += db.changesCount
                }
                return written
            }
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
            let cursor = after
            let rows = try await database.pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, json_extract(payload, '$.userToken'), json_extract(payload, '$.installationId'), json_extract(payload, '$.runId')
                        FROM jobs WHERE id > ? AND kind = ? AND json_extract(payload, '$.userToken') IS NOT NULL
                        ORDER BY id LIMIT ?
                        """, arguments: [cursor, RunReportJob.kind, batchSize]
                )
                .map { row in
                    (
                        id: row[0] as Int64, sealed: row[1] as String, installationId: (row[2] as String?) ?? "",
                        runId: (row[3] as String?) ?? ""
                    )
                }
            }
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
            let pending = updates
            report.resealed += try await database.pool.write { db -> Int in
                var written = 0
                for update in pending {
                    try db.execute(
                        sql: """
                            UPDATE jobs SET payload = json_set(payload, '$.userToken', ?)
                            WHERE id = ? AND json_extract(payload, '$.userToken') = ?
                            """, arguments: [update.new, update.id, update.old])
                    written += db.changesCount
                }
                return written
            }
            if rows.count < batchSize { return }
        }
    }
}
