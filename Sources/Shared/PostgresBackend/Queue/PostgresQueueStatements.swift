import Foundation
import JobQueue
import NIOCore
import PostgresNIO
import Reports

// The queue's hot statements as named prepared statements: PostgresNIO prepares each once per pooled
// connection and then only binds and executes it, so the server parses and plans it once, not per job.
// Batches travel as arrays (`unnest`), so a lease of 32 jobs is one statement, not 32.

/// The running jobs whose leases are presented as `$2` (ids) and `$3` (fencing tokens), locked in id
/// order (PostgresLeaseStatements.swift says why): the first part of every statement that changes
/// running jobs by lease.
enum RunningRows {
    static let lockPresented = """
        SELECT jobs.id FROM jobs JOIN unnest($2::bigint[], $3::bigint[]) AS presented (id, token)
            ON jobs.id = presented.id AND jobs.lease_token = presented.token
        WHERE jobs.state = 'running'
        ORDER BY jobs.id FOR UPDATE OF jobs
        """
}

/// Inserts a batch of jobs; returns the id and unique key of each row inserted.
struct InsertJobs: PostgresPreparedStatement {
    static let sql = """
        INSERT INTO jobs (kind, payload, priority, run_at, max_attempts, unique_key, created_at, fairness_key, vtime,
            trace_parent, exclusive_key)
        SELECT kind, payload, priority, run_at, max_attempts, nullif(unique_key, ''), $7, fairness_key, vtime,
            nullif(trace_parent, ''), nullif(exclusive_key, '')
        FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $8::text[], $9::bigint[],
            $10::text[], $11::text[])
            WITH ORDINALITY AS batch (kind, payload, priority, run_at, max_attempts, unique_key, fairness_key, vtime,
                trace_parent, exclusive_key, ord)
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
    var traceParents: [String?]
    var exclusiveKeys: [String?]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 11)
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
        bindings.append(traceParents.map { $0 ?? "" })  // the same stand-in for NULL as the unique key's
        bindings.append(exclusiveKeys.map { $0 ?? "" })  // and again (an empty exclusive key is refused)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// The fenced completion of a batch: only rows still running under the presented token change, and
/// their runs end in the same statement.
struct CompleteJobs: PostgresPreparedStatement {
    static let sql = """
        WITH settled AS (\(RunningRows.lockPresented)), done AS (
            UPDATE jobs SET state = 'succeeded', lease_until = NULL, finished_at = $1, last_error = NULL
            FROM settled WHERE jobs.id = settled.id
            RETURNING jobs.id, jobs.fairness_key, jobs.exclusive_key
        ), \(RunsOfSuccesses.update(ids: 4, counts: 5, urls: 6, snapshots: 7))
        SELECT id, fairness_key <> '' OR exclusive_key IS NOT NULL FROM done
        """
    /// The job's id, and whether it had a key or an exclusive key (its end may let another job run).
    typealias Row = (Int64, Bool)

    var now: Int64
    var ids: [Int64]
    var tokens: [Int64]
    var runs: RunsOfSuccesses.Values

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(now)
        bindings.append(ids)
        bindings.append(tokens)
        runs.append(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Extends the leases still held, locking them in id order like the settle (PostgresLeaseStatements.swift);
/// returns their ids.
struct ExtendLeases: PostgresPreparedStatement {
    static let sql = """
        WITH held AS (\(RunningRows.lockPresented))
        UPDATE jobs SET lease_until = $1 FROM held WHERE jobs.id = held.id
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

/// The runs of successes being settled, ended as `RunFollowsJob` says inside the statement that
/// settles their jobs (a data-changing step of its WITH, joined to its `done` rows, so a success
/// refused for a lost lease leaves its run alone). `$1` is the settle's time.
enum RunsOfSuccesses {
    /// Two steps of a WITH: `ended` (the runs) and `kept` (their reports' snapshots, bytea bound in
    /// binary, replaced).
    static func update(ids: Int, counts: Int, urls: Int, snapshots: Int) -> String {
        """
        ended AS (
            UPDATE runs SET status = 'succeeded', finished_at = $1, issue_count = nullif(s.issues, -1),
                page_url = nullif(s.url, ''), error_code = NULL, error_message = NULL
            FROM done, unnest($\(ids)::bigint[], $\(counts)::bigint[], $\(urls)::text[], $\(snapshots)::bytea[])
                AS s (job_id, issues, url, snapshot)
            WHERE done.id = s.job_id AND runs.job_id = s.job_id AND runs.status IN ('queued', 'running')
            RETURNING runs.report_id, s.snapshot
        ), kept AS (
            INSERT INTO report_snapshots (report_id, taken_at, body)
            SELECT report_id, $1, snapshot FROM ended WHERE length(snapshot) > 0
            ON CONFLICT (report_id) DO UPDATE SET taken_at = EXCLUDED.taken_at, body = EXCLUDED.body
        )
        """
    }

    /// Job ids, issue counts (-1: none), page links ('': none) and snapshots (empty: none) of
    /// the successes whose run ends.
    struct Values: Sendable {
        var ids: [Int64] = []
        var counts: [Int64] = []
        var urls: [String] = []
        var snapshots: [ByteBuffer] = []

        init(_ successes: [SettledJob]) {
            for success in successes {
                guard
                    case .succeed(let count, let url, let snapshot) = RunFollowsJob.action(
                        settled: .succeeded, result: success.result, jobNow: .succeeded)
                else { continue }
                ids.append(success.lease.jobId)
                counts.append(Int64(count ?? -1))
                urls.append(url ?? "")
                snapshots.append(ByteBuffer(bytes: snapshot ?? Data()))
            }
        }

        func append(to bindings: inout PostgresBindings) {
            bindings.append(ids)
            bindings.append(counts)
            bindings.append(urls)
            bindings.append(snapshots)
        }
    }
}
