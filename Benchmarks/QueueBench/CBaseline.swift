import Foundation
import GRDBSQLite
import ReportsSupport
import SQLiteBackend

/// The same statements the queue runs, through the bare SQLite C API in one process: per turn, one
/// `BEGIN IMMEDIATE` transaction that completes the previous batch and leases the next one.
enum CBaseline {
    static func drain(path: String, jobs: Int, batch: Int) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            throw BaselineError("open")
        }
        defer { sqlite3_close_v2(db) }
        try exec(
            db,
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON"
        )

        // Fill it the same way the drain runs do (not timed).
        try exec(db, "BEGIN IMMEDIATE")
        let insert = try prepare(
            db,
            "INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, unique_key, created_at) VALUES ('diagnostic', '{}', 0, ?, 20, NULL, ?) ON CONFLICT DO NOTHING RETURNING id"
        )
        let now = Timestamp.milliseconds(Date())
        for _ in 0..<jobs {
            sqlite3_bind_int64(insert, 1, now)
            sqlite3_bind_int64(insert, 2, now)
            while sqlite3_step(insert) == SQLITE_ROW {}
            sqlite3_reset(insert)
        }
        sqlite3_finalize(insert)
        try exec(db, "COMMIT")

        // The queue's two claim statements for keyless jobs: the due head read from the index, then
        // the claim of those ids.
        let head = try prepare(db, FairQueueing.headSQL)
        let lease = try prepare(db, SQLiteJobQueue.leaseSQL)
        let complete = try prepare(db, SQLiteJobQueue.completeSQL)
        defer {
            sqlite3_finalize(head)
            sqlite3_finalize(lease)
            sqlite3_finalize(complete)
        }
        let worker = "baseline"
        var held: [(Int64, Int64)] = []
        var done = 0
        let start = ContinuousClock.now
        while true {
            try exec(db, "BEGIN IMMEDIATE")
            let now = Timestamp.milliseconds(Date())
            for (id, token) in held {
                sqlite3_bind_int64(complete, 1, now)
                sqlite3_bind_int64(complete, 2, id)
                sqlite3_bind_int64(complete, 3, token)
                while sqlite3_step(complete) == SQLITE_ROW {}
                sqlite3_reset(complete)
            }
            done += held.count
            held.removeAll(keepingCapacity: true)
            sqlite3_bind_int64(head, 1, now)
            sqlite3_bind_int64(head, 2, Int64(batch + 16))
            var ids: [Int64] = []
            while sqlite3_step(head) == SQLITE_ROW && ids.count < batch { ids.append(sqlite3_column_int64(head, 0)) }
            sqlite3_reset(head)
            let list = "[" + ids.map(String.init).joined(separator: ",") + "]"
            sqlite3_bind_int64(lease, 1, now + 30_000)
            _ = worker.withCString {
                sqlite3_bind_text(lease, 2, $0, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            sqlite3_bind_int64(lease, 3, now)
            _ = list.withCString {
                sqlite3_bind_text(lease, 4, $0, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            while sqlite3_step(lease) == SQLITE_ROW {
                // Read every returned column, as the queue does.
                _ = sqlite3_column_text(lease, 1)
                _ = sqlite3_column_text(lease, 2)
                held.append((sqlite3_column_int64(lease, 0), sqlite3_column_int64(lease, 6)))
            }
            sqlite3_reset(lease)
            try exec(db, "COMMIT")
            if held.isEmpty { break }
        }
        let elapsed = (ContinuousClock.now - start).timeInterval
        guard done == jobs else { throw BaselineError("completed \(done) of \(jobs)") }
        return Double(jobs) / elapsed
    }

    private static func exec(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BaselineError(String(cString: sqlite3_errmsg(db)))
        }
    }

    private static func prepare(_ db: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else {
            throw BaselineError(String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }
}

struct BaselineError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
