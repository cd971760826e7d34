import Foundation
import GRDB
import JobQueue
import ReportsSupport

/// Start-time fair queuing over fairness keys (after Goyal, Vin & Cheng, SIGCOMM 1996), one queue per
/// priority. Each job gets a virtual start time when it is enqueued: its key's previous job's plus
/// one, or the queue's virtual time now, whichever is later. The virtual time now is the earliest
/// start among the jobs waiting at that priority (the head of the queue), or, with none waiting, the
/// latest leased job's. Leasing in (priority, virtual time) order then serves the keys waiting in
/// turn: a key with 200 jobs queued holds 200 consecutive times, and a key that arrives later starts
/// at the head, behind at most one job of each key waiting there. The claim reads the index in
/// order, like a first-in-first-out queue, so it costs about the same whatever the number of keys.
package enum FairQueueing {
    /// Gives each job its virtual start time, in the caller's write transaction.
    static func assignVirtualTimes(_ jobs: [NewJob], in db: Database) throws -> [Int64] {
        var clocks: [Int: Int64] = [:]
        var next: [Lane: Int64] = [:]
        var times: [Int64] = []
        times.reserveCapacity(jobs.count)
        for job in jobs {
            let lane = Lane(key: job.fairnessKey, priority: job.priority)
            let clock = try clocks[job.priority] ?? clock(priority: job.priority, in: db)
            clocks[job.priority] = clock
            let last =
                try next[lane] ?? Int64.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT next_vtime FROM queue_keys WHERE fairness_key = ? AND priority = ?
                            """), arguments: [lane.key, lane.priority]) ?? 0
            let start = max(clock, last)
            next[lane] = start + 1
            times.append(start)
        }
        let save = try db.cachedStatement(
            sql: """
                INSERT INTO queue_keys (fairness_key, priority, next_vtime) VALUES (?, ?, ?)
                ON CONFLICT (fairness_key, priority) DO UPDATE SET next_vtime = max(next_vtime, excluded.next_vtime)
                """)
        for (lane, vtime) in next { try save.execute(arguments: [lane.key, lane.priority, vtime]) }
        return times
    }

    /// The virtual time now at `priority`: the head of its waiting jobs, else the latest leased.
    static func clock(priority: Int, in db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT coalesce(
                        (SELECT vtime FROM jobs INDEXED BY jobs_fair WHERE state = 'available' AND priority = ?1 ORDER BY priority DESC, vtime LIMIT 1),
                        (SELECT vtime FROM queue_clock WHERE priority = ?1), 0)
                    """), arguments: [priority]) ?? 0
    }

    /// Moves each priority's clock to the latest virtual time leased.
    static func advanceClocks(_ leased: [Int: Int64], in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO queue_clock (priority, vtime) VALUES (?, ?)
                ON CONFLICT (priority) DO UPDATE SET vtime = max(vtime, excluded.vtime)
                """)
        for (priority, vtime) in leased { try statement.execute(arguments: [priority, vtime]) }
    }

    /// Forgets keys whose next start is not ahead of the virtual time now: such a key has no job
    /// waiting (every waiting job starts at or after the head), and its next job would start at the
    /// virtual time now anyway.
    static func pruneKeys(in db: Database) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM queue_keys WHERE next_vtime <= coalesce(
                    (SELECT vtime FROM jobs INDEXED BY jobs_fair WHERE state = 'available' AND priority = queue_keys.priority
                     ORDER BY priority DESC, vtime LIMIT 1),
                    (SELECT vtime FROM queue_clock WHERE queue_clock.priority = queue_keys.priority), 0)
                """)
        return db.changesCount
    }

    private struct Lane: Hashable {
        let key: String
        let priority: Int
    }

    /// Claims up to `limit` due jobs in (priority, virtual time) order, skipping a job whose exclusive
    /// key a running job (or one chosen before it) holds, and a job whose key already has `cap` jobs
    /// running (keyless jobs have no cap). The due jobs are read from the `jobs_fair` index alone (it
    /// holds both keys and `run_at`), the keys' running counts and the exclusive keys held in one query
    /// each, and the chosen jobs claimed in one statement; returns them with their virtual times.
    static func claim(in db: Database, limit: Int, cap: Int, now: Int64, leaseUntil: Int64, workerId: String) throws
        -> [(job: LeasedJob, vtime: Int64)]
    {
        var chosen: [Int64] = []
        var running: [String: Int] = [:]
        var held: [String: Bool] = [:]
        var after: (priority: Int, vtime: Int64, id: Int64)?
        let page = limit + 16
        while chosen.count < limit {
            let rows = try headPage(in: db, after: after, now: now, count: page)
            let keys = Set(rows.map(\.key).filter { !$0.isEmpty && running[$0] == nil })
            if !keys.isEmpty {
                for key in keys { running[key] = 0 }
                for row in try Row.fetchAll(db.cachedStatement(sql: runningSQL), arguments: [jsonList(keys)]) {
                    running[row[0]] = row[1]
                }
            }
            let exclusive = Set(rows.compactMap(\.exclusive).filter { held[$0] == nil })
            if !exclusive.isEmpty {
                for key in exclusive { held[key] = false }
                for key in try String.fetchAll(db.cachedStatement(sql: heldSQL), arguments: [jsonList(exclusive)]) {
                    held[key] = true
                }
            }
            for row in rows where chosen.count < limit {
                if let exclusive = row.exclusive, held[exclusive]! { continue }
                if !row.key.isEmpty {
                    guard running[row.key]! < cap else { continue }
                    running[row.key]! += 1
                }
                if let exclusive = row.exclusive { held[exclusive] = true }
                chosen.append(row.id)
            }
            guard rows.count == page, let last = rows.last else { break }
            after = (last.priority, last.vtime, last.id)
        }
        guard !chosen.isEmpty else { return [] }
        let ids = "[" + chosen.map(String.init).joined(separator: ",") + "]"
        let rows = try Row.fetchCursor(db.cachedStatement(sql: claimSQL), arguments: [leaseUntil, workerId, now, ids])
        var claimed: [(job: LeasedJob, vtime: Int64)] = []
        claimed.reserveCapacity(chosen.count)
        while let row = try rows.next() {
            claimed.append(
                (
                    LeasedJob(
                        lease: JobLease(jobId: row[0], token: row[6], attempt: row[4], maxAttempts: row[5]),
                        kind: row[1], payload: row[2], priority: row[3],
                        createdAt: Timestamp.date(milliseconds: row[7]),
                        traceParent: row[9]
                    ), row[8]
                ))
        }
        return claimed
    }

    private static func jsonList(_ keys: Set<String>) throws -> String {
        String(decoding: try JSONEncoder().encode(Array(keys)), as: UTF8.self)
    }

    private struct HeadRow {
        let id: Int64
        let priority: Int
        let vtime: Int64
        let key: String
        let exclusive: String?
    }

    /// One page of due jobs in lease order, read through a cursor (no row copies: a lease reads a
    /// page per transaction, so this is on the queue's hot path).
    private static func headPage(
        in db: Database, after: (priority: Int, vtime: Int64, id: Int64)?, now: Int64, count: Int
    ) throws -> [HeadRow] {
        let arguments: StatementArguments = after.map { [now, $0.priority, $0.vtime, $0.id, count] } ?? [now, count]
        let cursor = try Row.fetchCursor(
            db.cachedStatement(sql: after == nil ? headSQL : nextPageSQL), arguments: arguments)
        var rows: [HeadRow] = []
        rows.reserveCapacity(count)
        while let row = try cursor.next() {
            rows.append(HeadRow(id: row[0], priority: row[1], vtime: row[2], key: row[3], exclusive: row[4]))
        }
        return rows
    }

    /// The due jobs at the head (arguments: now, count): from the index alone.
    package static let headSQL = """
        SELECT id, priority, vtime, fairness_key, exclusive_key FROM jobs INDEXED BY jobs_fair
        WHERE state = 'available' AND run_at <= ?
        ORDER BY priority DESC, vtime, id LIMIT ?
        """

    /// The due jobs after a place in the order (arguments: now, priority, vtime, id, count).
    static let nextPageSQL = """
        SELECT id, priority, vtime, fairness_key, exclusive_key FROM jobs INDEXED BY jobs_fair
        WHERE state = 'available' AND run_at <= ?1
          AND (priority < ?2 OR (priority = ?2 AND (vtime > ?3 OR (vtime = ?3 AND id > ?4))))
        ORDER BY priority DESC, vtime, id LIMIT ?5
        """

    static let runningSQL = """
        SELECT fairness_key, count(*) FROM jobs INDEXED BY jobs_running_by_key
        WHERE state = 'running' AND fairness_key <> '' AND fairness_key IN (SELECT value FROM json_each(?))
        GROUP BY fairness_key
        """

    /// The exclusive keys among a list (a JSON array) that a running job holds.
    static let heldSQL = """
        SELECT DISTINCT exclusive_key FROM jobs INDEXED BY jobs_running_by_exclusive_key
        WHERE state = 'running' AND exclusive_key IS NOT NULL AND exclusive_key IN (SELECT value FROM json_each(?))
        """

    /// Claims the chosen jobs (arguments: lease until, worker id, now, ids as a JSON array), still
    /// `available`: the choice was made in the same write transaction. Package access so the
    /// benchmark's bare C API baseline runs exactly this text.
    static let claimSQL = """
        UPDATE jobs
        SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
            lease_until = ?, worker_id = ?, started_at = ?, wait_reason = NULL
        WHERE id IN (SELECT value FROM json_each(?)) AND state = 'available'
        RETURNING id, kind, payload, priority, attempt, max_attempts, lease_token, created_at, vtime, trace_parent
        """

}
