import Foundation
import JobQueue
import Logging
import PostgresNIO
import ReportsSupport

/// Start-time fair queuing over fairness keys, as on SQLite (docs/queue-fairness.md; SQLiteJobQueue's
/// `FairQueueing` explains the virtual times). What differs is concurrency: SQLite has one writer,
/// PostgreSQL many, so
/// - a key's next virtual time is taken with one `INSERT … ON CONFLICT DO UPDATE … RETURNING` per
///   batch, whose row lock makes two enqueuers of one key take turns;
/// - the lease locks the head rows it reads (`FOR UPDATE SKIP LOCKED`), so two workers never choose
///   the same job and never wait for each other's;
/// - the per-key running cap needs the key's running count to stay true until commit: the lease takes
///   a transaction-scoped advisory lock per key (`pg_try_advisory_xact_lock`, never waiting) before
///   counting, so two workers never both fill a key's last slot; a key another worker is leasing right
///   now is skipped for this round;
/// - an exclusive key (one running job at a time) is kept the same way, with a lock in the next class,
///   so two workers never lease two jobs of one report at once.
enum PostgresFairClaim {
    /// The advisory lock namespace of fairness keys (the two-integer form: this class, the key's hash);
    /// exclusive keys use the class after it (`keyLockClass + 1`, written so in the lease's statement).
    static let keyLockClass: Int32 = 0x7266_6B79

    /// Gives each job its virtual start time, in the caller's transaction.
    static func assignVirtualTimes(_ jobs: [NewJob], on connection: PostgresConnection, logger: Logger)
        async throws -> [Int64]
    {
        struct Lane: Hashable {
            let key: String
            let priority: Int
        }
        var counts: [Lane: Int] = [:]
        var order: [Lane] = []
        for job in jobs {
            let lane = Lane(key: job.fairnessKey, priority: job.priority)
            if counts[lane] == nil { order.append(lane) }
            counts[lane, default: 0] += 1
        }
        // Locked in a fixed order, so two batches sharing keys cannot deadlock.
        order.sort { ($0.priority, $0.key) < ($1.priority, $1.key) }
        let rows = try await connection.checkedQuery(
            """
            WITH lanes AS (
                SELECT * FROM unnest(\(order.map(\.key))::text[], \(order.map(\.priority))::int[],
                    \(order.map { counts[$0]! })::bigint[]) WITH ORDINALITY AS lane (fairness_key, priority, n, ord)
            ), clocked AS (
                SELECT lanes.*, coalesce(
                    (SELECT vtime FROM jobs WHERE state = 'available' AND jobs.priority = lanes.priority
                     ORDER BY priority DESC, vtime, id LIMIT 1),
                    (SELECT vtime FROM queue_clock WHERE queue_clock.priority = lanes.priority), 0) AS clock
                FROM lanes
            )
            INSERT INTO queue_keys AS k (fairness_key, priority, next_vtime)
            SELECT fairness_key, priority, clock + n FROM clocked ORDER BY ord
            ON CONFLICT (fairness_key, priority) DO UPDATE
                SET next_vtime = greatest(k.next_vtime + (excluded.next_vtime - (
                    SELECT clock FROM clocked WHERE clocked.fairness_key = excluded.fairness_key
                        AND clocked.priority = excluded.priority)), excluded.next_vtime)
            RETURNING fairness_key, priority, next_vtime
            """, logger: logger)
        var next: [Lane: Int64] = [:]
        for try await (key, priority, end) in rows.decode((String, Int, Int64).self) {
            let lane = Lane(key: key, priority: priority)
            next[lane] = end - Int64(counts[lane]!)
        }
        return try jobs.map { job in
            let lane = Lane(key: job.fairnessKey, priority: job.priority)
            guard let start = next[lane] else { throw JobQueueError.invalidArgument("a fairness lane was not stored") }
            next[lane] = start + 1
            return start
        }
    }

    /// Records the `successes` (fenced) and claims up to `limit` due jobs in (priority, virtual time)
    /// order, skipping jobs of a key that already has `cap` running (keyless jobs have no cap), and
    /// moves each priority's clock on (PostgresLeaseStatements.swift). Returns the jobs in lease order
    /// and the ids of the successes applied.
    static func claim(
        limit: Int, cap: Int, now: Int64, leaseUntil: Int64, workerId: String, successes: [SettledJob],
        on connection: PostgresConnection, logger: Logger
    ) async throws -> (jobs: [LeasedJob], applied: Set<Int64>) {
        var applied = Set<Int64>()
        var claimed: [(job: LeasedJob, vtime: Int64)] = []
        var after = (priority: Int(Int32.max), vtime: Int64.min, id: Int64.min)
        var pending = successes
        var exclusiveSeen: Set<String> = []
        let page = limit + 16
        while claimed.count < limit {
            let read = SettleAndReadHead(
                now: now, successIds: pending.map(\.lease.jobId), successTokens: pending.map(\.lease.token),
                runs: RunsOfSuccesses.Values(pending), after: after, count: page, keyLockClass: keyLockClass)
            pending = []
            var head: [(id: Int64, priority: Int, vtime: Int64, key: String, eligible: Bool, exclusive: String)] = []
            for try await (part, id, priority, vtime, key, eligible, exclusive)
                in try await connection
                .checkedExecute(read, logger: logger)
            {
                switch part {
                case "d": applied.insert(id)
                case "h": head.append((id, priority, vtime, key, eligible, exclusive))
                default: break
                }
            }
            head.sort { ($0.priority, $1.vtime, $1.id) > ($1.priority, $0.vtime, $0.id) }
            // The first head job of an exclusive key is its only candidate (this lease and earlier pages
            // of it included); whether a running job holds the key is read after the locks, in the claim.
            let candidates = head.filter { row in
                row.eligible && (row.exclusive.isEmpty || exclusiveSeen.insert(row.exclusive).inserted)
            }
            if !candidates.isEmpty {
                let claim = ClaimCandidates(
                    ids: candidates.map(\.id), keys: candidates.map(\.key), cap: cap, limit: limit - claimed.count,
                    leaseUntil: leaseUntil, workerId: workerId, now: now)
                let rows =
                    candidates.allSatisfy(\.exclusive.isEmpty)
                    ? try await connection.checkedExecute(claim, logger: logger)
                    : try await connection.checkedExecute(
                        ClaimExclusiveCandidates(claim: claim, exclusiveKeys: candidates.map(\.exclusive)),
                        logger: logger)
                for try await row in rows {
                    let job = LeasedJob(
                        lease: JobLease(jobId: row.0, token: row.6, attempt: row.4, maxAttempts: row.5),
                        kind: row.1, payload: Data(row.2.utf8), priority: row.3,
                        createdAt: Timestamp.date(milliseconds: row.7), traceParent: row.9)
                    claimed.append((job, row.8))
                }
            }
            guard head.count == page, let last = head.last else { break }
            after = (last.priority, last.vtime, last.id)
        }
        // RETURNING gives no order guarantee; hand jobs out in claim order.
        claimed.sort { ($0.job.priority, $1.vtime, $1.job.id) > ($1.job.priority, $0.vtime, $0.job.id) }
        return (claimed.map(\.job), applied)
    }
}
