import JobQueue
import Logging
import PostgresNIO
import ReportsSupport

/// Records attempts' outcomes inside the caller's transaction, each fenced by its lease (the same rules
/// as SQLite's settle). Successes, the common case, go in one statement; the rest one by one.
enum PostgresSettle {
    /// `rowsLocked`: the caller has locked these jobs' rows in id order already (the lease does, for
    /// the successes it writes afterwards too).
    static func settle(
        _ settled: [SettledJob], now: Int64, strategy: JobRetryStrategy, on connection: PostgresConnection,
        logger: Logger, rowsLocked: Bool = false
    ) async throws -> [SettleResult] {
        if settled.isEmpty { return [] }
        if !rowsLocked && settled.contains(where: { $0.outcome != .succeeded }) {
            try await lockInOrder(settled.map(\.lease.jobId), on: connection, logger: logger)
        }
        var results = [SettleResult](repeating: .leaseLost, count: settled.count)
        // A job finished or handed back may free a slot under its key's cap or its exclusive key, or
        // make work available:
        // idle workers on other hosts are told at commit.
        var wakesOthers = false
        let successes = settled.indices.filter { settled[$0].outcome == .succeeded }
        if !successes.isEmpty {
            let statement = CompleteJobs(
                now: now, ids: successes.map { settled[$0].lease.jobId },
                tokens: successes.map { settled[$0].lease.token },
                runs: RunsOfSuccesses.Values(successes.map { settled[$0] }))
            var applied = Set<Int64>()
            for try await (id, keyed) in try await connection.checkedExecute(statement, logger: logger) {
                applied.insert(id)
                if keyed { wakesOthers = true }
            }
            for index in successes where applied.contains(settled[index].lease.jobId) {
                results[index] = .applied(.succeeded)
            }
        }
        for index in settled.indices where settled[index].outcome != .succeeded {
            let (result, wakes) = try await settleOne(
                settled[index], now: now, strategy: strategy, on: connection, logger: logger)
            results[index] = result
            wakesOthers = wakesOthers || wakes
        }
        if wakesOthers { try await PostgresJobQueue.notify(connection, logger: logger) }
        return results
    }

    /// Locks the jobs' rows in id order before outcomes are written one by one, so a heartbeat touching
    /// the same rows (it locks in id order too) waits instead of deadlocking with this transaction.
    static func lockInOrder(_ ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.checkedQuery(
            "SELECT id FROM jobs WHERE id = ANY(\(ids)::bigint[]) ORDER BY id FOR UPDATE", logger: logger)
    }

    private static func settleOne(
        _ item: SettledJob, now: Int64, strategy: JobRetryStrategy, on connection: PostgresConnection, logger: Logger
    ) async throws -> (SettleResult, wakesOthers: Bool) {
        let (id, token) = (item.lease.jobId, item.lease.token)
        let query: PostgresQuery
        var hold: (until: Int64, reason: String)?
        switch item.outcome {
        case .succeeded:
            preconditionFailure("successes are settled in one batch")
        case .failed(let failure) where failure.isRetryable:
            let runAt =
                now
                + strategy.delay(afterAttempt: item.lease.attempt, retryAfter: failure.retryAfter)
                .wholeMilliseconds
            query = """
                UPDATE jobs
                SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN \(now)::bigint END,
                    run_at = \(runAt), lease_until = NULL, last_error = \(failure.description)
                WHERE id = \(id) AND state = 'running' AND lease_token = \(token)
                RETURNING state, fairness_key, exclusive_key IS NOT NULL
                """
        case .failed(let failure):
            query = """
                UPDATE jobs SET state = 'discarded', finished_at = \(now), lease_until = NULL,
                    last_error = \(failure.description)
                WHERE id = \(id) AND state = 'running' AND lease_token = \(token)
                RETURNING state, fairness_key, exclusive_key IS NOT NULL
                """
        case .deferred(let deferral):
            let runAt = now + max(deferral.delay.wholeMilliseconds, 0)
            if deferral.holdsKey { hold = (runAt, deferral.code) }
            query = """
                UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = \(runAt), lease_until = NULL,
                    worker_id = NULL, wait_reason = \(deferral.code)
                WHERE id = \(id) AND state = 'running' AND lease_token = \(token)
                RETURNING state, fairness_key, exclusive_key IS NOT NULL
                """
        case .released:
            // The attempt did not really happen: give it back, keep the job's place in line.
            query = """
                UPDATE jobs SET state = 'available', attempt = attempt - 1, lease_until = NULL, worker_id = NULL
                WHERE id = \(id) AND state = 'running' AND lease_token = \(token)
                RETURNING state, fairness_key, exclusive_key IS NOT NULL
                """
        }
        guard let row = try await connection.checkedQuery(query, logger: logger).collect().first else {
            return (.leaseLost, false)
        }
        let (stateText, key, exclusive) = try row.decode((String, String, Bool).self)
        guard let state = JobState(rawValue: stateText) else { return (.leaseLost, false) }
        try await PostgresRunFollowing.jobSettled(
            id, outcome: item.outcome, result: item.result, now: state, at: now, on: connection, logger: logger)
        if let hold, !key.isEmpty {
            // The key's budget is spent: its other due jobs wait until then too, instead of being
            // handed out one by one to be deferred.
            try await connection.checkedQuery(
                """
                UPDATE jobs SET run_at = \(hold.until), wait_reason = \(hold.reason)
                WHERE state = 'available' AND run_at < \(hold.until) AND fairness_key = \(key)
                """, logger: logger)
        }
        return (.applied(state), state == .available || !key.isEmpty || exclusive)
    }
}
