public import Foundation
import GRDB
public import Logging
public import Reports
public import Security

/// Key rotation's reads and compare-and-set writes over the SQLite file.
public struct SQLiteSealedSecretStorage: SealedSecretStorage {
    public let database: ReportsDatabase

    public init(database: ReportsDatabase) { self.database = database }

    public func sealedSecrets(_ column: TokenKeyRotation.SealedColumn, after: [String]?, limit: Int) async throws
        -> [([String], Data)]
    {
        let keys = column.keyColumns.joined(separator: ", ")
        let tuple = column.keyColumns.count == 1 ? column.keyColumns[0] : "(\(keys))"
        let placeholders =
            column.keyColumns.count == 1 ? "?" : "(\(column.keyColumns.map { _ in "?" }.joined(separator: ", ")))"
        return try await database.pool.read { db -> [([String], Data)] in
            let whereAfter = after == nil ? "" : "AND \(tuple) > \(placeholders)"
            let sql = """
                SELECT \(keys), \(column.column) FROM \(column.table)
                WHERE \(column.column) IS NOT NULL \(whereAfter)
                ORDER BY \(keys) LIMIT ?
                """
            var values: [(any DatabaseValueConvertible)?] = (after ?? []).map { $0 }
            values.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                ((0..<column.keyColumns.count).map { row[$0] as String }, row[column.keyColumns.count] as Data)
            }
        }
    }

    public func replaceSealedSecrets(_ column: TokenKeyRotation.SealedColumn, _ updates: [([String], Data, Data)])
        async throws -> Int
    {
        try await database.pool.write { db -> Int in
            var written = 0
            let conditions = column.keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
            for (owner, old, new) in updates {
                var values: [(any DatabaseValueConvertible)?] = [new]
                values += owner.map { $0 }
                values.append(old)
                try db.execute(
                    sql: "UPDATE \(column.table) SET \(column.column) = ? WHERE \(conditions) AND \(column.column) = ?",
                    arguments: StatementArguments(values))
                written += db.changesCount
            }
            return written
        }
    }

    public func sealedUserTokens(after: Int64, kind: String, limit: Int) async throws -> [SealedUserToken] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, json_extract(payload, '$.userToken'), json_extract(payload, '$.installationId'), json_extract(payload, '$.runId')
                    FROM jobs WHERE id > ? AND kind = ? AND json_extract(payload, '$.userToken') IS NOT NULL
                    ORDER BY id LIMIT ?
                    """, arguments: [after, kind, limit]
            )
            .map { row in
                SealedUserToken(
                    id: row[0], sealed: row[1], installationId: (row[2] as String?) ?? "",
                    runId: (row[3] as String?) ?? "")
            }
        }
    }

    public func replaceUserTokens(_ updates: [(id: Int64, old: String, new: String)]) async throws -> Int {
        try await database.pool.write { db -> Int in
            var written = 0
            for update in updates {
                try db.execute(
                    sql: """
                        UPDATE jobs SET payload = json_set(payload, '$.userToken', ?)
                        WHERE id = ? AND json_extract(payload, '$.userToken') = ?
                        """, arguments: [update.new, update.id, update.old])
                written += db.changesCount
            }
            return written
        }
    }
}

extension TokenKeyRotation {
    /// Key rotation over the SQLite file.
    public init(database: ReportsDatabase, vault: TokenVault, batchSize: Int = 200, logger: Logger) {
        self.init(
            storage: SQLiteSealedSecretStorage(database: database), vault: vault, batchSize: batchSize, logger: logger)
    }
}
