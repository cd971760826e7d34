import JobQueue
import PostgresNIO

/// The `jobs` columns operators see, and their decoding into `JobRecord` (the payload is left out).
enum JobRecordRow {
    static let columns = """
        id, kind, priority, state, run_at, attempt, max_attempts, lease_token, lease_until, worker_id, unique_key,
        last_error, created_at, started_at, finished_at, fairness_key, wait_reason
        """

    static func decode(_ row: PostgresRow) throws -> JobRecord {
        let c = try row.decode(
            (
                Int64, String, Int, String, Int64, Int, Int, Int64, Int64?, String?, String?, String?, Int64, Int64?,
                Int64?, String, String?
            ).self)
        guard let state = JobState(rawValue: c.3) else { throw JobRecordDecodingError() }
        return JobRecord(
            id: c.0, kind: c.1, priority: c.2, state: state, runAt: c.4, attempt: c.5, maxAttempts: c.6,
            leaseToken: c.7, leaseUntil: c.8, workerId: c.9, uniqueKey: c.10, lastError: c.11, createdAt: c.12,
            startedAt: c.13, finishedAt: c.14, fairnessKey: c.15, waitReason: c.16)
    }
}

/// A `jobs` row whose state is none the queue knows (a newer binary's): refused, not guessed.
struct JobRecordDecodingError: Error {}
