import GRDB

/// Who gets the next worker slot (issue #13, docs/queue-fairness.md).
public struct FairnessPolicy: Sendable {
    /// Most jobs of one fairness key running at once, across every worker (the key `""` has no cap).
    /// The default is the OneNote requests we let one Microsoft user have in flight
    /// (`OneNoteRateLimiter.maxInFlight`), so one user cannot fill every slot.
    public var maxRunningPerKey: Int
    /// A job due for this long is promoted to `agedPriority`: higher priorities come first, but a
    /// scheduled run never waits behind Run nows for longer than this plus its key's turn.
    public var agingAfter: Duration
    public var agedPriority: Int

    public static let standard = FairnessPolicy(maxRunningPerKey: 2, agingAfter: .seconds(300), agedPriority: 10)

    public init(maxRunningPerKey: Int, agingAfter: Duration, agedPriority: Int) {
        self.maxRunningPerKey = max(maxRunningPerKey, 1)
        self.agingAfter = agingAfter
        self.agedPriority = agedPriority
    }
}

/// The fair claim. Per priority level, highest first, keys are served in turn starting after the key
/// served last (`queue_turns`): each key that has a due job and room under its cap gets one job, then
/// (when slots are left over) more, up to an even share. Every step is an index seek on `jobs_fair` or
/// `jobs_running_by_key`, so a key's backlog of thousands costs the others nothing.
struct FairLease {
    let db: Database
    let now: Int64
    let leaseUntil: Int64
    let workerId: String
    let policy: FairnessPolicy

    struct Claimed {
        let job: LeasedJob
        let runAt: Int64
    }

    func claim(limit: Int) throws -> [Claimed] {
        var claimed: [Claimed] = []
        var running: [String: Int] = [:]
        var level = try nextLevel(below: nil)
        while let priority = level, claimed.count < limit {
            // Several rounds only when keys ran out of due jobs before their share was taken.
            while claimed.count < limit {
                let got = try serve(priority: priority, limit: limit - claimed.count, running: &running)
                claimed += got
                if got.isEmpty { break }
            }
            level = try nextLevel(below: priority)
        }
        return claimed
    }

    /// One round at one priority level.
    private func serve(priority: Int, limit: Int, running: inout [String: Int]) throws -> [Claimed] {
        let cursor = try String.fetchOne(db, sql: "SELECT last_key FROM queue_turns WHERE priority = ?", arguments: [priority])
        var eligible: [(key: String, room: Int)] = []
        var visited = Set<String>()
        var key = try nextKey(priority: priority, after: cursor)
        var wrapped = cursor == nil
        while eligible.count < limit {
            guard let current = key else {
                if wrapped { break }
                wrapped = true
                key = try nextKey(priority: priority, after: nil)
                continue
            }
            if !visited.insert(current).inserted { break }
            let room = try self.room(current, running: &running)
            if room > 0, try hasDueJob(priority: priority, key: current) { eligible.append((current, room)) }
            key = try nextKey(priority: priority, after: current)
        }
        guard !eligible.isEmpty else { return [] }

        // One job per key in turn; slots left over are shared evenly, within each key's room.
        var shares = Array(repeating: 0, count: eligible.count)
        var left = limit
        while left > 0 {
            var gave = false
            for index in eligible.indices where left > 0 && shares[index] < eligible[index].room {
                shares[index] += 1
                left -= 1
                gave = true
            }
            if !gave { break }
        }
        var claimed: [Claimed] = []
        var lastServed: String?
        let statement = try db.cachedStatement(sql: Self.claimSQL)
        for (index, entry) in eligible.enumerated() where shares[index] > 0 {
            let rows = try Row.fetchCursor(statement, arguments: [leaseUntil, workerId, now, priority, entry.key, now, shares[index]])
            var keyJobs: [Claimed] = []
            while let row = try rows.next() {
                keyJobs.append(Claimed(job: LeasedJob(
                    lease: JobLease(jobId: row[0], token: row[6], attempt: row[4], maxAttempts: row[5]),
                    kind: row[1], payload: row[2], priority: row[3], createdAt: Timestamp.date(milliseconds: row[7])), runAt: row[8]))
            }
            // RETURNING gives no order guarantee; hand a key's jobs out in claim order.
            keyJobs.sort { ($0.runAt, $0.job.id) < ($1.runAt, $1.job.id) }
            claimed += keyJobs
            let got = keyJobs.count
            if got > 0 {
                running[entry.key, default: 0] += got
                lastServed = entry.key
            }
        }
        if let lastServed {
            try db.execute(sql: """
                INSERT INTO queue_turns (priority, last_key) VALUES (?, ?)
                ON CONFLICT (priority) DO UPDATE SET last_key = excluded.last_key
                """, arguments: [priority, lastServed])
        }
        return claimed
    }

    /// Claims a key's oldest due jobs at one priority (arguments: lease until, worker id, now,
    /// priority, key, now, limit).
    static let claimSQL = """
        UPDATE jobs
        SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
            lease_until = ?, worker_id = ?, started_at = ?, wait_reason = NULL
        WHERE id IN (
            SELECT id FROM jobs INDEXED BY jobs_fair
            WHERE state = 'available' AND priority = ? AND fairness_key = ? AND run_at <= ?
            ORDER BY run_at, id
            LIMIT ?)
        RETURNING id, kind, payload, priority, attempt, max_attempts, lease_token, created_at, run_at
        """

    /// The priority levels that have waiting jobs, highest first (a seek per level: there are few).
    static func priorityLevels(in db: Database) throws -> [Int] {
        let lease = FairLease(db: db, now: 0, leaseUntil: 0, workerId: "", policy: .standard)
        var levels: [Int] = []
        while let level = try lease.nextLevel(below: levels.last) { levels.append(level) }
        return levels
    }

    /// The next priority level (highest first) that has waiting jobs.
    private func nextLevel(below priority: Int?) throws -> Int? {
        if let priority {
            return try Int.fetchOne(db.cachedStatement(sql: """
                SELECT priority FROM jobs INDEXED BY jobs_fair WHERE state = 'available' AND priority < ?
                ORDER BY priority DESC LIMIT 1
                """), arguments: [priority])
        }
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT priority FROM jobs INDEXED BY jobs_fair WHERE state = 'available' ORDER BY priority DESC LIMIT 1
            """))
    }

    private func nextKey(priority: Int, after key: String?) throws -> String? {
        guard let key else { return try firstKey(priority: priority) }
        return try String.fetchOne(db.cachedStatement(sql: """
            SELECT fairness_key FROM jobs INDEXED BY jobs_fair
            WHERE state = 'available' AND priority = ? AND fairness_key > ?
            ORDER BY priority DESC, fairness_key LIMIT 1
            """), arguments: [priority, key])
    }

    private func firstKey(priority: Int) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: """
            SELECT fairness_key FROM jobs INDEXED BY jobs_fair WHERE state = 'available' AND priority = ?
            ORDER BY priority DESC, fairness_key LIMIT 1
            """), arguments: [priority])
    }

    private func hasDueJob(priority: Int, key: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_fair
                           WHERE state = 'available' AND priority = ? AND fairness_key = ? AND run_at <= ?)
            """), arguments: [priority, key, now]) ?? false
    }

    /// How many more jobs of `key` may run now.
    private func room(_ key: String, running: inout [String: Int]) throws -> Int {
        if key.isEmpty { return Int.max }
        if running[key] == nil {
            running[key] = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM jobs INDEXED BY jobs_running_by_key WHERE state = 'running' AND fairness_key = ?
                """), arguments: [key]) ?? 0
        }
        return max(policy.maxRunningPerKey - running[key]!, 0)
    }
}
