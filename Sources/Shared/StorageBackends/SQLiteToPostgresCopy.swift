import Foundation
import GRDB
import Logging
import PostgresBackend
import PostgresNIO
import ReportsSupport
import SQLiteBackend

/// Copies an SQLite database into an empty PostgreSQL one (deploy/RUNBOOK.md):
/// every table, every row, ids kept, in one PostgreSQL transaction, so the copy is all or nothing.
/// The SQLite side is read from one snapshot, so a copy taken while something still writes is at least
/// consistent; the runbook says to stop `enqueuer serve`, `cron` and every worker first anyway.
struct SQLiteToPostgresCopy {
    /// A table, its key for reading in pages, and the columns PostgreSQL stores as BOOLEAN (SQLite's
    /// 0/1). Parents before children, so foreign keys hold at every insert.
    struct Table {
        let name: String
        let key: [String]
        var booleans: Set<String> = []
    }

    static let tables: [Table] = [
        Table(name: "installations", key: ["id"]),
        Table(name: "microsoft_connections", key: ["installation_id", "account_id"]),
        Table(name: "reports", key: ["id"], booleans: ["enabled"]),
        Table(name: "report_snapshots", key: ["report_id"]),
        Table(name: "jobs", key: ["id"]),
        Table(name: "runs", key: ["id"]),
        Table(name: "oauth_nonces", key: ["nonce"]),
        Table(name: "oauth_pending_connections", key: ["token_hash"]),
        Table(name: "onenote_requests", key: ["rowid"]),
        Table(name: "onenote_inflight", key: ["id"]),
        Table(name: "queue_clock", key: ["priority"]),
        Table(name: "queue_keys", key: ["fairness_key", "priority"]),
        Table(name: "user_requests", key: ["rowid"]),
        Table(name: "connect_labels", key: ["installation_id", "account_id"]),
    ]

    /// SQLite's own bookkeeping, not data.
    static let ignored: Set<String> = ["grdb_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"]

    let source: ReportsDatabase
    let target: PostgresReportsDatabase
    let logger: Logger
    /// Rows read and inserted per statement (bounded by PostgreSQL's 65,535 parameters).
    var pageSize = 2_000

    struct CopyError: Error, CustomStringConvertible {
        let description: String
    }

    /// Copies everything; returns the rows copied per table.
    func run() async throws -> [(table: String, rows: Int)] {
        let snapshot = try source.pool.makeSnapshot()
        let present = try Self.read(snapshot) { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        let unknown = Set(present).subtracting(Self.ignored).subtracting(Self.tables.map(\.name))
        guard unknown.isEmpty else {
            throw CopyError(description: "the SQLite database has tables this version cannot copy: \(unknown.sorted())")
        }
        try await target.migrate()
        return try await target.withTransaction { connection in
            try await requireEmpty(connection)
            var copied: [(String, Int)] = []
            for table in Self.tables {
                copied.append((table.name, try await copy(table, from: snapshot, to: connection)))
            }
            // Jobs keep their ids; the identity continues after the largest.
            try await connection.checkedQuery(
                """
                SELECT setval(pg_get_serial_sequence('jobs', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)
                FROM jobs
                """, logger: logger)
            try await verify(copied, against: snapshot, on: connection)
            return copied
        }
    }

    private func requireEmpty(_ connection: PostgresConnection) async throws {
        var occupied: [String] = []
        for table in Self.tables {
            let rows = try await count(table.name, on: connection)
            if rows > 0 { occupied.append("\(rows) rows in \(table.name)") }
        }
        guard occupied.isEmpty else {
            throw CopyError(
                description:
                    "the PostgreSQL database is not empty (\(occupied.joined(separator: ", "))); the copy writes only into an empty one"
            )
        }
    }

    private func count(_ table: String, on connection: PostgresConnection) async throws -> Int {
        try await connection.checkedQuery(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: logger)
            .collect().first?.decode(Int.self) ?? 0
    }

    private func copy(_ table: Table, from snapshot: DatabaseSnapshot, to connection: PostgresConnection)
        async throws -> Int
    {
        let columns = try Self.read(snapshot) { db in try db.columns(in: table.name).map(\.name) }
        let keyed = table.key == ["rowid"] ? ["rowid"] + columns : columns
        let keyIndexes = table.key.map { keyed.firstIndex(of: $0)! }
        let perStatement = max(1, min(pageSize, 30_000 / max(columns.count, 1)))
        var after: [DatabaseValue]?
        var total = 0
        while true {
            let page = try Self.read(snapshot) { db in
                try Row.fetchAll(
                    db, sql: pageSQL(table, keyed, after: after), arguments: StatementArguments(after ?? []))
            }
            if page.isEmpty { return total }
            try await insert(table, columns: columns, rows: page, offset: keyed.count - columns.count, on: connection)
            total += page.count
            after = keyIndexes.map { page[page.count - 1][$0] }
            if page.count < perStatement { return total }
        }

        func pageSQL(_ table: Table, _ keyed: [String], after: [DatabaseValue]?) -> String {
            let key = table.key.joined(separator: ", ")
            let condition =
                after == nil
                ? "" : "WHERE (\(key)) > (\(Array(repeating: "?", count: table.key.count).joined(separator: ", ")))"
            return
                "SELECT \(keyed.joined(separator: ", ")) FROM \(table.name) \(condition) ORDER BY \(key) LIMIT \(perStatement)"
        }
    }

    /// One multi-row INSERT for a page; each SQLite value is bound with the type it has (and 0/1 as a
    /// boolean where PostgreSQL's column is one).
    private func insert(
        _ table: Table, columns: [String], rows: [Row], offset: Int, on connection: PostgresConnection
    ) async throws {
        var bindings = PostgresBindings(capacity: rows.count * columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        for row in rows {
            var placeholders: [String] = []
            for (index, column) in columns.enumerated() {
                let value: DatabaseValue = row[offset + index]
                switch value.storage {
                case .null: bindings.appendNull()
                case .int64(let number):
                    if table.booleans.contains(column) { bindings.append(number != 0) } else { bindings.append(number) }
                case .double(let number): bindings.append(number)
                case .string(let text): bindings.append(text)
                case .blob(let data): try bindings.append(data)
                }
                placeholders.append("$\(bindings.count)")
            }
            tuples.append("(\(placeholders.joined(separator: ", ")))")
        }
        let sql =
            "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) VALUES \(tuples.joined(separator: ", "))"
        try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
    }

    /// A read on the snapshot, outside async code: the snapshot is one connection, and GRDB's async
    /// `read` is not needed for a one-shot command.
    private static func read<T>(_ snapshot: DatabaseSnapshot, _ body: (Database) throws -> T) throws -> T {
        try snapshot.read(body)
    }

    /// Every table holds as many rows in PostgreSQL as in the snapshot, before the commit.
    private func verify(
        _ copied: [(String, Int)], against snapshot: DatabaseSnapshot, on connection: PostgresConnection
    ) async throws {
        for (table, rows) in copied {
            let source = try Self.read(snapshot) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
            }
            let target = try await count(table, on: connection)
            guard source == rows, target == rows else {
                throw CopyError(
                    description: "\(table): \(source) rows in SQLite, \(rows) copied, \(target) in PostgreSQL")
            }
        }
    }
}
