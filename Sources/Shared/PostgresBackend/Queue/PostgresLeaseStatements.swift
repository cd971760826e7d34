import PostgresNIO

// The lease in two statements (plus BEGIN and COMMIT), because every round trip to the server costs
// as much as the work: a first version with six per lease drained at 27 % of a bare-SQL loop.
//
// 1. `SettleAndReadHead` records the successes the worker brings, reads a page of the head locked with
//    SKIP LOCKED, and takes the advisory lock of each key on it (never waiting).
// 2. `ClaimCandidates` counts the running jobs of those keys, chooses in lease order whatever fits under
//    each key's cap, claims it and moves the clocks on.
// The count must come from a statement that starts after the locks were taken: under READ COMMITTED a
// statement sees what was committed when it began, so a count in the locking statement itself could
// miss a job another worker claimed and committed just before handing over the lock.

/// Rows a statement changes by id are locked in id order first (`ORDER BY id FOR UPDATE`): a worker's
/// heartbeat and its settling touch the same running jobs at once, and locking them in two different
/// orders deadlocked (seen in the 4-worker benchmark: PostgreSQL aborts one after a second).
///
/// Settles successes, reads and locks a head page, locks its keys. Rows: (`d`, id, …, key) for each
/// success applied; (`n`, …) once when a finished job had a key or an exclusive key (idle workers must
/// hear of the freed slot); (`h`, id, priority, vtime, key, eligible, exclusive key or '') for each head
/// row in lease order, `eligible` when it is keyless or its key's lock is now this transaction's, and
/// the same for its exclusive key (locked in the class after the keys', `$9 + 1`).
struct SettleAndReadHead: PostgresPreparedStatement {
    static let sql = """
        WITH settled AS (\(RunningRows.lockPresented)), done AS (
            UPDATE jobs SET state = 'succeeded', lease_until = NULL, finished_at = $1, last_error = NULL
            FROM settled WHERE jobs.id = settled.id
            RETURNING jobs.id, jobs.fairness_key, jobs.exclusive_key
        ), \(RunsOfSuccesses.update(ids: 10, counts: 11, urls: 12, snapshots: 13)), woke AS (
            SELECT pg_notify('reports_jobs', '') FROM (
                SELECT 1 FROM done WHERE fairness_key <> '' OR exclusive_key IS NOT NULL LIMIT 1) AS keyed
        ), head AS (
            SELECT id, priority, vtime, fairness_key, exclusive_key FROM jobs
            WHERE state = 'available' AND run_at <= $4
              AND (priority < $5 OR (priority = $5 AND (vtime > $6 OR (vtime = $6 AND id > $7))))
            ORDER BY priority DESC, vtime, id
            LIMIT $8
            FOR UPDATE SKIP LOCKED
        ), locked AS (
            SELECT key FROM (SELECT DISTINCT fairness_key AS key FROM head WHERE fairness_key <> '') AS keys
            WHERE pg_try_advisory_xact_lock($9, hashtext(key))
        ), exclusive AS (
            SELECT key FROM (SELECT DISTINCT exclusive_key AS key FROM head WHERE exclusive_key IS NOT NULL) AS keys
            WHERE pg_try_advisory_xact_lock($9 + 1, hashtext(key))
        )
        SELECT 'd', id, 0, 0::bigint, fairness_key, true, '' FROM done
        UNION ALL SELECT 'n', 0, 0, 0::bigint, '', true, '' FROM woke
        UNION ALL (
            SELECT 'h', id, priority, vtime, fairness_key,
                (fairness_key = '' OR fairness_key IN (SELECT key FROM locked))
                AND (exclusive_key IS NULL OR exclusive_key IN (SELECT key FROM exclusive)),
                coalesce(exclusive_key, '')
            FROM head ORDER BY priority DESC, vtime, id)
        """
    typealias Row = (String, Int64, Int, Int64, String, Bool, String)

    var now: Int64
    var successIds: [Int64]
    var successTokens: [Int64]
    /// The runs the successes end (`RunsOfSuccesses.Values`).
    var runs: RunsOfSuccesses.Values
    /// The place in the lease order after which to read: (priority, vtime, id); the start is above all.
    var after: (priority: Int, vtime: Int64, id: Int64)
    var count: Int
    var keyLockClass: Int32

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 13)
        bindings.append(now)
        bindings.append(successIds)
        bindings.append(successTokens)
        bindings.append(now)
        bindings.append(after.priority)
        bindings.append(after.vtime)
        bindings.append(after.id)
        bindings.append(count)
        bindings.append(keyLockClass)
        runs.append(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Chooses among the candidates (head rows in lease order whose keys this transaction has locked, or
/// keyless; at most one per exclusive key, the first) what fits under each key's cap, up to the limit,
/// claims it and moves each priority's clock to the latest virtual time claimed. With exclusive keys
/// among the candidates, `exclusiveKeys` is set and a candidate whose key a running job holds is passed
/// over (the running jobs read here, after the keys' locks were taken); without, the statement is the
/// one without that filter, so a queue of jobs without exclusive keys pays nothing for them.
struct ClaimCandidates: PostgresPreparedStatement {
    /// The candidates (ids $1, fairness keys $2), then the claim (`claimTail`).
    static let sql = """
        WITH candidates AS (
            SELECT * FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS candidate (id, fairness_key, ord)
        ), \(claimTail)
        """
    /// The same with each candidate's exclusive key ($8, '' for none).
    static let exclusiveSQL = """
        WITH listed AS (
            SELECT * FROM unnest($1::bigint[], $2::text[], $8::text[])
                WITH ORDINALITY AS candidate (id, fairness_key, exclusive_key, ord)
        ), candidates AS (
            SELECT id, fairness_key, ord FROM listed
            WHERE exclusive_key = '' OR exclusive_key NOT IN (
                SELECT exclusive_key FROM jobs WHERE state = 'running' AND exclusive_key IS NOT NULL
                    AND exclusive_key IN (SELECT exclusive_key FROM listed WHERE exclusive_key <> ''))
        ), \(claimTail)
        """
    static let claimTail = """
        running AS (
            SELECT fairness_key, count(*) AS n FROM jobs
            WHERE state = 'running' AND fairness_key IN (SELECT fairness_key FROM candidates WHERE fairness_key <> '')
            GROUP BY fairness_key
        ), chosen AS (
            SELECT id FROM (
                SELECT c.id, c.ord, c.fairness_key,
                    coalesce(r.n, 0) + row_number() OVER (PARTITION BY c.fairness_key ORDER BY c.ord) AS would_run
                FROM candidates AS c LEFT JOIN running AS r USING (fairness_key)
            ) AS ranked
            WHERE fairness_key = '' OR would_run <= $3
            ORDER BY ord LIMIT $4
        ), claimed AS (
            UPDATE jobs
            SET state = 'running', attempt = attempt + 1, lease_token = lease_token + 1,
                lease_until = $5, worker_id = $6, started_at = $7, wait_reason = NULL
            WHERE id IN (SELECT id FROM chosen) AND state = 'available'
            RETURNING id, kind, payload, priority, attempt, max_attempts, lease_token, created_at, vtime, trace_parent
        ), clock AS (
            INSERT INTO queue_clock (priority, vtime)
            SELECT priority, max(vtime) FROM claimed GROUP BY priority ORDER BY priority
            ON CONFLICT (priority) DO UPDATE SET vtime = greatest(queue_clock.vtime, excluded.vtime)
        )
        SELECT * FROM claimed
        """
    typealias Row = (Int64, String, String, Int, Int, Int, Int64, Int64, Int64, String?)

    var ids: [Int64]
    var keys: [String]
    var cap: Int
    var limit: Int
    var leaseUntil: Int64
    var workerId: String
    var now: Int64

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(ids)
        bindings.append(keys)
        bindings.append(cap)
        bindings.append(limit)
        bindings.append(leaseUntil)
        bindings.append(workerId)
        bindings.append(now)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// `ClaimCandidates` when a candidate has an exclusive key: the same claim, passing over a candidate
/// whose key a running job holds.
struct ClaimExclusiveCandidates: PostgresPreparedStatement {
    static let sql = ClaimCandidates.exclusiveSQL
    typealias Row = ClaimCandidates.Row

    var claim: ClaimCandidates
    /// Each candidate's exclusive key, '' for none.
    var exclusiveKeys: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = try claim.makeBindings()
        bindings.append(exclusiveKeys)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The lease's statements as text, for the benchmark's bare-SQL loop (Benchmarks/QueueBench), which runs
/// exactly these through libpq to measure what the worker adds.
package enum PostgresLeaseSQL {
    package static let settleAndReadHead = SettleAndReadHead.sql
    package static let claimCandidates = ClaimCandidates.sql
    package static let keyLockClass = PostgresFairClaim.keyLockClass
}
