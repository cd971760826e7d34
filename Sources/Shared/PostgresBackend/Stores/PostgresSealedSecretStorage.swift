public import Foundation
public import Logging
import PostgresNIO
public import Reports
public import Security

/// Key rotation's reads and compare-and-set writes on PostgreSQL. Table and column names come from
/// `TokenKeyRotation.columns` (constants of this binary), never from input; values are bound.
public struct PostgresSealedSecretStorage: SealedSecretStorage {
    public let database: PostgresReportsDatabase

    public init(database: PostgresReportsDatabase) { self.database = database }

    public func sealedSecrets(_ column: TokenKeyRotation.SealedColumn, after: [String]?, limit: Int) async throws
        -> [([String], Data)]
    {
        let keys = column.keyColumns.joined(separator: ", ")
        var bindings = PostgresBindings()
        var condition = ""
        if let after {
            for key in after { bindings.append(key) }
            condition = "AND (\(keys)) > (\((1...after.count).map { "$\($0)" }.joined(separator: ", ")))"
        }
        bindings.append(limit)
        let sql = """
            SELECT \(keys), \(column.column) FROM \(column.table)
            WHERE \(column.column) IS NOT NULL \(condition)
            ORDER BY \(keys) LIMIT $\(bindings.count)
            """
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
                .collect().map { row in
                    let cells = row.makeRandomAccess()
                    return (
                        try (0..<column.keyColumns.count).map { try cells[$0].decode(String.self) },
                        try cells[column.keyColumns.count].decode(Data.self)
                    )
                }
        }
    }

    public func replaceSealedSecrets(_ column: TokenKeyRotation.SealedColumn, _ updates: [([String], Data, Data)])
        async throws -> Int
    {
        guard !updates.isEmpty else { return 0 }
        let conditions = column.keyColumns.enumerated().map { "\($1) = $\($0 + 2)" }.joined(separator: " AND ")
        let sql = """
            UPDATE \(column.table) SET \(column.column) = $1
            WHERE \(conditions) AND \(column.column) = $\(column.keyColumns.count + 2) RETURNING 1
            """
        let logger = database.logger
        return try await database.withTransaction { connection in
            var written = 0
            for (owner, old, new) in updates {
                var bindings = PostgresBindings()
                try bindings.append(new)
                for key in owner { bindings.append(key) }
                try bindings.append(old)
                written += try await connection.checkedQuery(
                    PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger
                ).collect().count
            }
            return written
        }
    }

    public func sealedUserTokens(after: Int64, kind: String, limit: Int) async throws -> [SealedUserToken] {
        let logger = database.logger
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT id, payload::jsonb ->> 'userToken', coalesce(payload::jsonb ->> 'installationId', ''),
                    coalesce(payload::jsonb ->> 'runId', '')
                FROM jobs WHERE id > \(after) AND kind = \(kind) AND payload::jsonb ->> 'userToken' IS NOT NULL
                ORDER BY id LIMIT \(limit)
                """, logger: logger
            ).collect().map { row in
                let (id, sealed, installation, run) = try row.decode((Int64, String, String, String).self)
                return SealedUserToken(id: id, sealed: sealed, installationId: installation, runId: run)
            }
        }
    }

    /// The payload stays text (a worker reads back the bytes it was given), rewritten through jsonb here:
    /// the token is the only value that changes.
    public func replaceUserTokens(_ updates: [(id: Int64, old: String, new: String)]) async throws -> Int {
        let logger = database.logger
        return try await database.withTransaction { connection in
            var written = 0
            for update in updates {
                written += try await connection.checkedQuery(
                    """
                    UPDATE jobs SET payload = jsonb_set(payload::jsonb, '{userToken}', to_jsonb(\(update.new)::text))::text
                    WHERE id = \(update.id) AND payload::jsonb ->> 'userToken' = \(update.old) RETURNING 1
                    """, logger: logger
                ).collect().count
            }
            return written
        }
    }
}

extension TokenKeyRotation {
    /// Key rotation over PostgreSQL.
    public init(database: PostgresReportsDatabase, vault: TokenVault, batchSize: Int = 200, logger: Logger) {
        self.init(
            storage: PostgresSealedSecretStorage(database: database), vault: vault, batchSize: batchSize,
            logger: logger)
    }
}
