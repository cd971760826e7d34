import PostgresNIO

// The queue's hot statements as named prepared statements: PostgresNIO prepares each once per pooled
// connection and then only binds and executes it, so the server parses and plans it once, not per job.
// Batches travel as arrays (`unnest`), so a lease of 32 jobs is one statement, not 32.

/// Inserts a batch of jobs; returns the id and unique key of each row inserted.
struct InsertJobs: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, unique_key, created_at, fairness_key, vtime)
        SELECT kind, payload, priority, run_at, max_attempts, nullif(unique_key, ''), $7, fairness_key, vtime
        FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $8::text[], $9::bigint[])
            WITH ORDINALITY AS batch (kind, payload, priority, run_at, max_attempts, unique_key, fairness_key, vtime, ord)
        ORDER BY ord
        ON CONFLICT DO NOTHING
        RETURNING id, unique_key
        """
    typealias Row = (Int64, String?)

    var kinds: [String]
    var payloads: [String]
    var priorities: [Int]
    var runAts: [Int64]
    var maxAttempts: [Int]
    var uniqueKeys: [String?]
    var createdAt: Int64
    var fairnessKeys: [String]
    var vtimes: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(kinds)
        bindings.append(payloads)
        bindings.append(priorities)
        bindings.append(runAts)
        bindings.append(maxAttempts)
        // PostgresNIO has no encoding for an array of optionals; an empty string stands for NULL (an
        // empty unique key is refused at enqueue).
        bindings.append(uniqueKeys.map { $0 ?? "" })
        bindings.append(createdAt)
        bindings.append(fairnessKeys)
        bindings.append(vtimes)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The due jobs at the head, in lease order, locked for this transaction; rows another worker has
/// locked are skipped, not waited for.
struct HeadPage: PostgresPreparedStatement {
    static let sql = """
        SELECT id, priority, vtime, fairness_key FROM jobs
        WHERE state = 'available' AND run_at <= $1
          AND (priority < $2 OR (priority = $2 AND (vtime > $3 OR (vtime = $3 AND id > $4))))
        ORDER BY priority DESC, vtime, id
        LIMIT $5
        FOR UPDATE SKIP LOCKED
        """
    typealias Row = (Int64, Int, Int64, String)

    var now: Int64
    /// The place in the order after which to read: (priority, vtime, id); the start is above all.
    var after: (priority: Int, vtime: Int64, id: Int64)
    var count: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(now)
        bindings.append(after.priority)
        bindings.append(after.vtime)
        bindings.append(after.id)
        bindings.append(count)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Claims the chosen jobs, still `available` (they are locked by this transaction).
struct ClaimJobs: PostgresPreparedStatement {
    static let sql = """
        UPDATE jobs
        SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
            lease_until = $1, worker_id = $2, started_at = $3, wait_reason = NULL
        WHERE id = ANY($4::bigint[]) AND state = 'available'
        RETURNING id, kind, payload, priority, attempt, max_attempts, lease_token, created_at, vtime
        """
    typealias Row = (Int64, String, String, Int, Int, Int, Int64, Int64, Int64)

    var leaseUntil: Int64
    var workerId: String
    var now: Int64
    var ids: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(leaseUntil)
        bindings.append(workerId)
        bindings.append(now)
        bindings.append(ids)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The fenced completion of a batch: only rows still running under the presented token change.
struct CompleteJobs: PostgresPreparedStatement {
    static let sql = """
        UPDATE jobs SET state = 'succeeded', lease_until = NULL, finished_at = $1, last_error = NULL
        FROM unnest($2::bigint[], $3::bigint[]) AS settled (id, token)
        WHERE jobs.id = settled.id AND jobs.state = 'running' AND jobs.lease_token = settled.token
        RETURNING jobs.id, jobs.fairness_key
        """
    typealias Row = (Int64, String)

    var now: Int64
    var ids: [Int64]
    var tokens: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(now)
        bindings.append(ids)
        bindings.append(tokens)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Extends the leases still held; returns their ids.
struct ExtendLeases: PostgresPreparedStatement {
    static let sql = """
        UPDATE jobs SET lease_until = $1
        FROM unnest($2::bigint[], $3::bigint[]) AS held (id, token)
        WHERE jobs.id = held.id AND jobs.state = 'running' AND jobs.lease_token = held.token
        RETURNING jobs.id
        """
    typealias Row = Int64

    var leaseUntil: Int64
    var ids: [Int64]
    var tokens: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(leaseUntil)
        bindings.append(ids)
        bindings.append(tokens)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Moves each priority's virtual clock to the latest virtual time leased (never back).
struct AdvanceClocks: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO queue_clock (priority, vtime)
        SELECT * FROM unnest($1::int[], $2::bigint[])
        ON CONFLICT (priority) DO UPDATE SET vtime = greatest(queue_clock.vtime, excluded.vtime)
        """
    typealias Row = ()

    var priorities: [Int]
    var vtimes: [Int64]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(priorities)
        bindings.append(vtimes)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

/// When the earliest waiting job not yet due becomes due.
struct NextDue: PostgresPreparedStatement {
    static let sql = "SELECT min(run_at) FROM jobs WHERE state = 'available' AND run_at > $1"
    typealias Row = Int64?

    var now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Int64?.self) }
}
