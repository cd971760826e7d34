public import Foundation
public import JobQueue
import Logging
public import PostgresNIO
import Reports
import ReportsSupport

/// The job queue on PostgreSQL (docs/postgresql.md): the same rules as `SQLiteJobQueue`,
/// checked by the same conformance suite, for workers on many hosts.
///
/// Where SQLite has one writer, PostgreSQL has many: the lease locks the rows it looks at with
/// `FOR UPDATE SKIP LOCKED` (two workers never wait on each other for a job, and never get the same
/// one), and a key's running cap is kept by a transaction-scoped advisory lock per key (see
/// `PostgresFairClaim`). Settling and leasing share one transaction. Every commit that makes work
/// available sends `NOTIFY reports_jobs`, which wakes idle workers on every host. Times come from `now`
/// (integer milliseconds, like SQLite's), so tests can move the clock.
public struct PostgresJobQueue: JobQueue {
    public let database: PostgresReportsDatabase
    public let retryStrategy: JobRetryStrategy
    public let notifier: QueueNotifier
    public let fairness: FairnessPolicy
    let now: @Sendable () -> Date

    /// The channel idle workers LISTEN on.
    static let channel = "reports_jobs"

    public init(
        database: PostgresReportsDatabase,
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

    var nowMilliseconds: Int64 { Timestamp.milliseconds(now()) }
    var logger: Logger { database.logger }

    public func storageUnavailableReason(_ error: any Error) -> String? {
        PostgresAvailability.reason(error)
    }

    // MARK: Enqueue

    public func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult] {
        if jobs.isEmpty { return [] }
        let payloads = try jobs.map { try $0.validatedPayload() }
        let created = nowMilliseconds
        let results = try await database.withTransaction { connection in
            try await Self.insert(jobs, payloads: payloads, now: created, on: connection, logger: logger)
        }
        if results.contains(where: \.created) { notifier.notify() }
        return results
    }

    /// Enqueues inside a transaction the caller holds, so a job and the rows that describe it commit
    /// together. Call `notifier.notify()` after the commit.
    public func enqueue(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> [EnqueueResult] {
        let payloads = try jobs.map { try $0.validatedPayload() }
        return try await Self.insert(jobs, payloads: payloads, now: nowMilliseconds, on: connection, logger: logger)
    }

    /// One statement for the whole batch. A job whose unique key a waiting or running job holds is not
    /// inserted (`ON CONFLICT DO NOTHING`, which waits for a concurrent insert of the same key to
    /// commit or roll back); it is answered with that job's id.
    static func insert(
        _ jobs: [NewJob], payloads: [String], now created: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> [EnqueueResult] {
        let vtimes = try await PostgresFairClaim.assignVirtualTimes(jobs, on: connection, logger: logger)
        let insert = InsertJobs(
            kinds: jobs.map(\.kind), payloads: payloads, priorities: jobs.map(\.priority),
            runAts: jobs.map { $0.runAt.map(Timestamp.milliseconds) ?? created },
            maxAttempts: jobs.map(\.maxAttempts), uniqueKeys: jobs.map(\.uniqueKey), createdAt: created,
            fairnessKeys: jobs.map(\.fairnessKey), vtimes: vtimes, traceParents: jobs.map(\.traceParent),
            exclusiveKeys: jobs.map(\.exclusiveKey))
        var keyless: [Int64] = []
        var byKey: [String: Int64] = [:]
        for try await (id, key) in try await connection.checkedExecute(insert, logger: logger) {
            if let key { byKey[key] = id } else { keyless.append(id) }
        }
        keyless.sort()
        let missing = Set(jobs.compactMap(\.uniqueKey)).subtracting(byKey.keys)
        var existing: [String: Int64] = [:]
        if !missing.isEmpty {
            let rows = try await connection.checkedQuery(
                """
                SELECT unique_key, id FROM jobs WHERE unique_key = ANY(\(Array(missing)))
                AND state IN ('available', 'running')
                """, logger: logger)
            for try await (key, id) in rows.decode((String, Int64).self) { existing[key] = id }
        }
        var results: [EnqueueResult] = []
        results.reserveCapacity(jobs.count)
        var nextKeyless = keyless.makeIterator()
        for job in jobs {
            if let key = job.uniqueKey {
                if let id = byKey.removeValue(forKey: key) {
                    existing[key] = id
                    results.append(EnqueueResult(jobId: id, created: true))
                } else if let id = existing[key] {
                    results.append(EnqueueResult(jobId: id, created: false))
                } else {
                    throw JobQueueError.invalidArgument("the job was refused by a constraint")
                }
            } else if let id = nextKeyless.next() {
                results.append(EnqueueResult(jobId: id, created: true))
            }
        }
        if results.contains(where: \.created) { try await notify(connection, logger: logger) }
        return results
    }

    /// Wakes idle workers on every host when the transaction commits (nothing is sent on rollback;
    /// several notifications in one transaction arrive as one).
    static func notify(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.checkedQuery("SELECT pg_notify(\(channel), '')", logger: logger)
    }

    // MARK: Lease and settle

    public func lease(_ request: LeaseRequest, settling: [SettledJob]) async throws -> (
        jobs: [LeasedJob], settled: [SettleResult], nextDue: Date?
    ) {
        guard request.limit >= 0 else { throw JobQueueError.invalidArgument("lease limit must not be negative") }
        let now = nowMilliseconds
        let leaseUntil = now + max(request.leaseDuration.wholeMilliseconds, 1)
        let (strategy, cap, logger) = (retryStrategy, fairness.maxRunningPerKey, logger)
        return try await database.withTransaction { connection in
            guard request.limit > 0 else {
                let settled = try await PostgresSettle.settle(
                    settling, now: now, strategy: strategy, on: connection, logger: logger)
                return ([], settled, nil)
            }
            // Successes ride along with the read of the head (one statement); other outcomes are rare.
            let others = settling.indices.filter { settling[$0].outcome != .succeeded }
            if !others.isEmpty {
                // Successes are written after the others: lock every row first, in id order.
                try await PostgresSettle.lockInOrder(settling.map(\.lease.jobId), on: connection, logger: logger)
            }
            let otherResults = try await PostgresSettle.settle(
                others.map { settling[$0] }, now: now, strategy: strategy, on: connection, logger: logger,
                rowsLocked: true)
            let successes = settling.filter { $0.outcome == .succeeded }
            var (jobs, applied) = try await PostgresFairClaim.claim(
                limit: request.limit, cap: cap, now: now, leaseUntil: leaseUntil, workerId: request.workerId,
                successes: successes, on: connection, logger: logger)
            // A run's claim rides on its job's lease: the runs marked running, what they need read.
            let claims = try await PostgresRunClaims.start(
                jobs.filter { RunFollowsJob.startsRun(kind: $0.kind) }.map(\.lease), at: now, on: connection,
                logger: logger)
            for index in jobs.indices { jobs[index].claim = claims[jobs[index].id] }
            var settled = settling.map {
                applied.contains($0.lease.jobId) ? SettleResult.applied(.succeeded) : .leaseLost
            }
            for (index, result) in zip(others, otherResults) { settled[index] = result }
            // Measured at the lease's own time, so a job that comes due right after is not missed.
            let nextDue = jobs.count < request.limit ? try await Self.nextDue(after: now, on: connection, logger) : nil
            return (jobs, settled, nextDue)
        }
    }

    public func settle(_ settled: [SettledJob]) async throws -> [SettleResult] {
        if settled.isEmpty { return [] }
        let (now, strategy, logger) = (nowMilliseconds, retryStrategy, logger)
        return try await database.withTransaction { connection in
            try await PostgresSettle.settle(settled, now: now, strategy: strategy, on: connection, logger: logger)
        }
    }

    public func heartbeat(_ leases: [JobLease], leaseDuration: Duration) async throws -> Set<JobLease> {
        if leases.isEmpty { return [] }
        let leaseUntil = nowMilliseconds + max(leaseDuration.wholeMilliseconds, 1)
        let statement = ExtendLeases(
            leaseUntil: leaseUntil, ids: leases.map(\.jobId), tokens: leases.map(\.token))
        var kept = Set<Int64>()
        try await database.withConnection { connection in
            for try await id in try await connection.checkedExecute(statement, logger: logger) { kept.insert(id) }
        }
        return Set(leases.filter { !kept.contains($0.jobId) })
    }

    public func isHeld(_ lease: JobLease) async throws -> Bool {
        let now = nowMilliseconds
        return try await database.withConnection { connection in
            try await connection.checkedQuery(
                """
                SELECT EXISTS (SELECT 1 FROM jobs WHERE id = \(lease.jobId) AND state = 'running'
                    AND lease_token = \(lease.token) AND lease_until >= \(now))
                """, logger: logger
            ).collect().first?.decode(Bool.self) ?? false
        }
    }

    public func reclaimExpiredLeases() async throws -> Int {
        let now = nowMilliseconds
        let changed = try await database.withTransaction { connection in
            // The token moves on too, so the dead worker's lease can never match again.
            let moved = try await connection.checkedQuery(
                """
                UPDATE jobs
                SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN \(now) END,
                    lease_until = NULL, lease_token = lease_token + 1,
                    last_error = 'lease_expired: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating'
                WHERE state = 'running' AND lease_until < \(now)
                RETURNING id, state, last_error
                """, logger: logger
            ).collect()
            for row in moved {
                let (id, stateText, lastError) = try row.decode((Int64, String, String?).self)
                guard let state = JobState(rawValue: stateText) else { continue }
                try await PostgresRunFollowing.jobMoved(
                    id, from: .running, to: state, lastError: lastError, at: now, on: connection, logger: logger)
            }
            let count = moved.count
            if count > 0 { try await Self.notify(connection, logger: logger) }
            return count
        }
        if changed > 0 { notifier.notify() }
        return changed
    }

    static func nextDue(after now: Int64, on connection: PostgresConnection, _ logger: Logger) async throws -> Date? {
        try await connection.checkedExecute(NextDue(now: now), logger: logger).first { _ in true }.flatMap { $0 }.map {
            Timestamp.date(milliseconds: $0)
        }
    }

    public func makeChangeObserver() throws -> any JobQueueChangeObserver {
        PostgresChangeObserver(database: database, channel: Self.channel)
    }
}
