public import Foundation
public import GRDB
public import JobQueue
import Reports
import ReportsSupport
import Synchronization

/// The job queue on the shared SQLite file (docs/design-notes.md §4).
///
/// Writes run in `BEGIN IMMEDIATE` transactions so a claim never reads a snapshot and then fails to
/// upgrade to a write lock; SQLite's single writer makes the claim `UPDATE … WHERE id IN (SELECT …
/// LIMIT n)` atomic without `SKIP LOCKED`. Times come from `now`, so tests can move the clock.
public struct SQLiteJobQueue: JobQueue {
    public func storageUnavailableReason(_ error: any Error) -> String? {
        StorageAvailability.isUnavailable(error) ? StorageAvailability.reason(error) : nil
    }

    public let database: ReportsDatabase
    public let retryStrategy: JobRetryStrategy
    public let notifier: QueueNotifier
    public let fairness: FairnessPolicy
    private let now: @Sendable () -> Date

    public init(
        database: ReportsDatabase,
        retryStrategy: JobRetryStrategy = .exponentialJitter(),
        notifier: QueueNotifier = QueueNotifier(),
        fairness: FairnessPolicy = .standard,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.database = database
        self.retryStrategy = retryStrategy
        self.notifier = notifier
        self.fairness = fairness
        self.now = now
    }

    private var pool: DatabasePool { database.pool }
    private var nowMilliseconds: Int64 { Timestamp.milliseconds(now()) }

    private func writeImmediate<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    // MARK: Enqueue

    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult] {
        if jobs.isEmpty { return [] }
        let rows = try Self.validate(jobs)
        let created = nowMilliseconds
        let results = try await writeImmediate { db in try Self.insert(rows, in: db, now: created) }
        if results.contains(where: \.created) { notifier.notify() }
        return results
    }

    /// Enqueues inside a transaction the caller holds, so a job and the rows that describe it (a run,
    /// a report's next slot) commit together. Call `notifier.notify()` after the commit.
    public func enqueue(_ jobs: [NewJob], in db: Database) throws -> [EnqueueResult] {
        try Self.insert(Self.validate(jobs), in: db, now: nowMilliseconds)
    }

    private static func validate(_ jobs: [NewJob]) throws -> [(NewJob, String)] {
        try jobs.map { job in (job, try job.validatedPayload()) }
    }

    private static func insert(_ rows: [(NewJob, String)], in db: Database, now created: Int64) throws
        -> [EnqueueResult]
    {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, unique_key, created_at, fairness_key, vtime,
                    trace_parent, exclusive_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                RETURNING id
                """)
        let existing = try db.cachedStatement(
            sql: """
                SELECT id FROM jobs WHERE unique_key = ? AND state IN ('available', 'running')
                """)
        let times = try FairQueueing.assignVirtualTimes(rows.map(\.0), in: db)
        return try zip(rows, times).map { row, vtime in
            let (job, payload) = row
            let runAt = job.runAt.map(Timestamp.milliseconds) ?? created
            if let id = try Int64.fetchOne(
                insert,
                arguments: [
                    job.kind, payload, job.priority, runAt, job.maxAttempts, job.uniqueKey, created, job.fairnessKey,
                    vtime, job.traceParent, job.exclusiveKey,
                ])
            {
                return EnqueueResult(jobId: id, created: true)
            }
            guard let key = job.uniqueKey, let id = try Int64.fetchOne(existing, arguments: [key]) else {
                throw JobQueueError.invalidArgument("the job was refused by a constraint")
            }
            return EnqueueResult(jobId: id, created: false)
        }
    }

    // MARK: Lease and settle

    /// The claim (FairQueueing.claimSQL). Package access so the benchmark's bare C API baseline runs
    /// exactly this text.
    package static let leaseSQL = FairQueueing.claimSQL

    /// The fenced completion (arguments: now, job id, lease token).
    public static let completeSQL = """
        UPDATE jobs SET state = 'succeeded', lease_until = NULL, finished_at = ?, last_error = NULL
        WHERE id = ? AND state = 'running' AND lease_token = ?
        RETURNING state
        """

    public func lease(_ request: LeaseRequest, settling: [SettledJob]) async throws -> (
        jobs: [LeasedJob], settled: [SettleResult], nextDue: Date?
    ) {
        guard request.limit >= 0 else { throw JobQueueError.invalidArgument("lease limit must not be negative") }
        let now = nowMilliseconds
        let leaseUntil = now + max(request.leaseDuration.wholeMilliseconds, 1)
        let strategy = retryStrategy
        let (workerId, cap) = (request.workerId, fairness.maxRunningPerKey)
        return try await writeImmediate { db in
            let settled = try Self.settle(settling, in: db, now: now, strategy: strategy)
            guard request.limit > 0 else { return ([], settled, nil) }
            var claimed = try FairQueueing.claim(
                in: db, limit: request.limit, cap: cap, now: now, leaseUntil: leaseUntil, workerId: workerId)
            var clocks: [Int: Int64] = [:]
            for (job, vtime) in claimed { clocks[job.priority] = max(clocks[job.priority] ?? vtime, vtime) }
            try FairQueueing.advanceClocks(clocks, in: db)
            // RETURNING gives no order guarantee; hand jobs out in claim order.
            claimed.sort { ($0.job.priority, $1.vtime, $1.job.id) > ($1.job.priority, $0.vtime, $0.job.id) }
            var jobs = claimed.map(\.job)
            // A run's claim rides on its job's lease: the run marked running, what it needs read.
            for index in jobs.indices where RunFollowsJob.startsRun(kind: jobs[index].kind) {
                jobs[index].claim = try RunClaims.start(jobs[index].lease, at: now, in: db)
            }
            // Measured at the lease's own time, so a job that comes due right after is not missed.
            let nextDue = jobs.count < request.limit ? try Self.nextDue(db, after: now) : nil
            return (jobs, settled, nextDue)
        }
    }

    public func settle(_ settled: [SettledJob]) async throws -> [SettleResult] {
        if settled.isEmpty { return [] }
        let now = nowMilliseconds
        let strategy = retryStrategy
        return try await writeImmediate { db in try Self.settle(settled, in: db, now: now, strategy: strategy) }
    }

    private static func settle(_ settled: [SettledJob], in db: Database, now: Int64, strategy: JobRetryStrategy) throws
        -> [SettleResult]
    {
        try settled.map { item in
            let lease = item.lease
            let row: Row?
            switch item.outcome {
            case .succeeded:
                row = try Row.fetchOne(
                    db.cachedStatement(sql: completeSQL), arguments: [now, lease.jobId, lease.token])
            case .failed(let failure) where failure.isRetryable:
                let delay = strategy.delay(afterAttempt: lease.attempt, retryAfter: failure.retryAfter)
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            UPDATE jobs
                            SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                                finished_at = CASE WHEN attempt >= max_attempts THEN ? END,
                                run_at = ?, lease_until = NULL, last_error = ?
                            WHERE id = ? AND state = 'running' AND lease_token = ?
                            RETURNING state
                            """),
                    arguments: [now, now + delay.wholeMilliseconds, failure.description, lease.jobId, lease.token])
            case .failed(let failure):
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            UPDATE jobs SET state = 'discarded', finished_at = ?, lease_until = NULL, last_error = ?
                            WHERE id = ? AND state = 'running' AND lease_token = ?
                            RETURNING state
                            """), arguments: [now, failure.description, lease.jobId, lease.token])
            case .deferred(let deferral):
                let runAt = now + max(deferral.delay.wholeMilliseconds, 0)
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = ?, lease_until = NULL, worker_id = NULL,
                                wait_reason = ?
                            WHERE id = ? AND state = 'running' AND lease_token = ?
                            RETURNING state, fairness_key
                            """), arguments: [runAt, deferral.code, lease.jobId, lease.token])
                if deferral.holdsKey, let key: String = row?[1], !key.isEmpty {
                    try holdKey(key, until: runAt, reason: deferral.code, in: db)
                }
            case .released:
                // The attempt did not really happen: give it back, keep the job's place in line.
                row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            UPDATE jobs SET state = 'available', attempt = attempt - 1, lease_until = NULL, worker_id = NULL
                            WHERE id = ? AND state = 'running' AND lease_token = ?
                            RETURNING state
                            """), arguments: [lease.jobId, lease.token])
            }
            guard let row, let state = JobState(rawValue: row[0]) else { return .leaseLost }
            try RunFollowing.jobSettled(
                lease.jobId, outcome: item.outcome, result: item.result, now: state, at: now, in: db)
            return .applied(state)
        }
    }

    /// Moves every due job of `key` to `until`: the key's budget is spent, so the lease skips it until
    /// then instead of handing its jobs out one by one to be deferred. Reads the due jobs (holds are
    /// rare: once per spent budget window and key), not an index per key every job would pay for.
    private static func holdKey(_ key: String, until: Int64, reason: String, in db: Database) throws {
        try db.execute(
            sql: """
                UPDATE jobs SET run_at = ?, wait_reason = ?
                WHERE state = 'available' AND run_at < ? AND fairness_key = ?
                """, arguments: [until, reason, until, key])
    }

    public func heartbeat(_ leases: [JobLease], leaseDuration: Duration) async throws -> Set<JobLease> {
        if leases.isEmpty { return [] }
        let leaseUntil = nowMilliseconds + max(leaseDuration.wholeMilliseconds, 1)
        return try await writeImmediate { db in
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_token = ?
                    """)
            var lost = Set<JobLease>()
            for lease in leases {
                try statement.execute(arguments: [leaseUntil, lease.jobId, lease.token])
                if db.changesCount == 0 { lost.insert(lease) }
            }
            return lost
        }
    }

    public func isHeld(_ lease: JobLease) async throws -> Bool {
        let now = nowMilliseconds
        return try await pool.read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND lease_token = ? AND lease_until >= ?)
                    """, arguments: [lease.jobId, lease.token, now]) ?? false
        }
    }

    public func reclaimExpiredLeases() async throws -> Int {
        let now = nowMilliseconds
        let changed = try await writeImmediate { db -> Int in
            // The token moves on too, so the dead worker's lease can never match again.
            let moved = try Row.fetchAll(
                db,
                sql: """
                    UPDATE jobs
                    SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                        finished_at = CASE WHEN attempt >= max_attempts THEN ? END,
                        lease_until = NULL, lease_token = lease_token + 1,
                        last_error = 'lease_expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating'
                    WHERE state = 'running' AND lease_until < ?
                    RETURNING id, state, last_error
                    """, arguments: [now, now])
            for row in moved {
                guard let state = JobState(rawValue: row[1]) else { continue }
                try RunFollowing.jobMoved(row[0], from: .running, to: state, lastError: row[2], at: now, in: db)
            }
            return moved.count
        }
        if changed > 0 { notifier.notify() }
        return changed
    }

    // MARK: Maintenance and inspection

    public func prune(_ policy: RetentionPolicy) async throws -> Int {
        let now = nowMilliseconds
        var total = 0
        _ = try await writeImmediate { db in try FairQueueing.pruneKeys(in: db) }
        for (state, keep) in [(JobState.succeeded, policy.succeeded), (.discarded, policy.discarded)] {
            let cutoff = now - keep.wholeMilliseconds
            // Small batches keep each write lock short, so workers are never held up for long.
            while true {
                let deleted = try await writeImmediate { db -> Int in
                    try db.execute(
                        sql: """
                            DELETE FROM jobs WHERE id IN (
                                SELECT id FROM jobs WHERE state = ? AND finished_at < ? LIMIT 2000)
                            """, arguments: [state, cutoff])
                    return db.changesCount
                }
                total += deleted
                if deleted < 2000 { break }
            }
        }
        return total
    }

    public func stats() async throws -> QueueStats {
        let now = nowMilliseconds
        return try await pool.read { db in
            var stats = QueueStats()
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM jobs GROUP BY state") {
                let count: Int = row[1]
                switch JobState(rawValue: row[0]) {
                case .available: stats.available = count
                case .running: stats.running = count
                case .succeeded: stats.succeeded = count
                case .discarded: stats.discarded = count
                case nil: break
                }
            }
            stats.scheduled =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM jobs WHERE state = 'available' AND run_at > ?", arguments: [now])
                ?? 0
            if let oldest = try Int64.fetchOne(db, sql: "SELECT min(run_at) FROM jobs WHERE state = 'available'"),
                oldest <= now
            {
                stats.oldestAvailableAgeSeconds = Double(now - oldest) / 1000
            }
            stats.keysWaiting =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(DISTINCT fairness_key) FROM jobs WHERE state = 'available' AND run_at <= ?
                        """, arguments: [now]) ?? 0
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT wait_reason, count(*) FROM jobs INDEXED BY jobs_waiting_reason
                    WHERE state = 'available' AND wait_reason IS NOT NULL GROUP BY wait_reason
                    """)
            {
                stats.deferred[row[0]] = row[1]
            }
            return stats
        }
    }

    public func list(state: JobState, limit: Int) async throws -> [JobRecord] {
        try await pool.read { db in
            try JobRecord.fetchAll(
                db,
                sql: """
                    SELECT \(JobRecord.listColumns) FROM jobs WHERE state = ? ORDER BY id LIMIT ?
                    """, arguments: [state, max(limit, 0)])
        }
    }

    public func job(id: Int64) async throws -> JobRecord? {
        try await pool.read { db in
            try JobRecord.fetchOne(db, sql: "SELECT \(JobRecord.listColumns) FROM jobs WHERE id = ?", arguments: [id])
        }
    }

    public func retry(jobId: Int64) async throws -> AdminResult {
        let now = nowMilliseconds
        let result = try await writeImmediate { db -> AdminResult in
            guard let state = try JobState.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [jobId])
            else {
                return .notFound
            }
            guard state == .discarded || state == .available else { return .notApplicable(state) }
            do {
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = 'available', attempt = 0, run_at = ?, finished_at = NULL, worker_id = NULL
                        WHERE id = ?
                        """, arguments: [now, jobId])
                try RunFollowing.jobMoved(jobId, from: state, to: .available, lastError: nil, at: now, in: db)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw JobQueueError.uniqueKeyTaken
            }
            return .changed
        }
        if result == .changed { notifier.notify() }
        return result
    }

    public func discard(jobId: Int64) async throws -> AdminResult {
        let now = nowMilliseconds
        return try await writeImmediate { db -> AdminResult in
            guard let state = try JobState.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [jobId])
            else {
                return .notFound
            }
            guard state == .available || state == .running else { return .notApplicable(state) }
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'discarded', finished_at = ?, lease_until = NULL,
                        lease_token = lease_token + 1, last_error = 'discarded_by_operator'
                    WHERE id = ?
                    """, arguments: [now, jobId])
            try RunFollowing.jobMoved(
                jobId, from: state, to: .discarded, lastError: "discarded_by_operator", at: now, in: db)
            return .changed
        }
    }

    /// Only jobs not yet due count: a due job that was not leased waits for a key's turn or room
    /// under its cap, and what frees those (a job finishing) wakes the workers anyway; counting it
    /// would make an idle worker spin.
    public func nextDueDate() async throws -> Date? {
        let now = nowMilliseconds
        return try await pool.read { db in try Self.nextDue(db, after: now) }
    }

    private static func nextDue(_ db: Database, after now: Int64) throws -> Date? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT min(run_at) FROM jobs WHERE state = 'available' AND run_at > ?"),
            arguments: [now]
        )
        .map { Timestamp.date(milliseconds: $0) }
    }

    /// Promoted jobs start at the aged priority's virtual time now, so they are served within a round.
    public func promoteAgedJobs() async throws -> Int {
        let cutoff = nowMilliseconds - fairness.agingAfter.wholeMilliseconds
        let priority = fairness.agedPriority
        return try await writeImmediate { db in
            let clock = try FairQueueing.clock(priority: priority, in: db)
            try db.execute(
                sql: """
                    UPDATE jobs SET priority = ?, vtime = ? WHERE state = 'available' AND run_at <= ? AND priority < ?
                    """, arguments: [priority, clock, cutoff, priority])
            return db.changesCount
        }
    }

    public func makeChangeObserver() throws -> any JobQueueChangeObserver {
        try SQLiteChangeObserver(path: database.path)
    }
}

extension JobLease {
    /// Throws `LeaseLostError` unless this lease is still the job's, checked inside the caller's write
    /// transaction so the write that follows is fenced by it (docs/page-identity.md).
    func requireHeld(_ db: Database) throws {
        let held =
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND lease_token = ?)"),
                arguments: [jobId, token]) ?? false
        guard held else { throw LeaseLostError() }
    }
}
