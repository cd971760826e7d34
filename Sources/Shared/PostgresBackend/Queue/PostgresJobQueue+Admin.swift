public import Foundation
public import JobQueue
import Logging
import PostgresNIO
import ReportsSupport

// Maintenance, inspection and operator actions: the same rules as SQLiteJobQueue's.
extension PostgresJobQueue {
    public func prune(_ policy: RetentionPolicy) async throws -> Int {
        let now = nowMilliseconds
        var total = 0
        try await database.withConnection { connection in
            // Keys whose next start is not ahead of the virtual time now have no job waiting.
            try await connection.checkedQuery(
                """
                DELETE FROM queue_keys WHERE next_vtime <= coalesce(
                    (SELECT vtime FROM jobs WHERE state = 'available' AND jobs.priority = queue_keys.priority
                     ORDER BY priority DESC, vtime, id LIMIT 1),
                    (SELECT vtime FROM queue_clock WHERE queue_clock.priority = queue_keys.priority), 0)
                """, logger: logger)
            for (state, keep) in [(JobState.succeeded, policy.succeeded), (.discarded, policy.discarded)] {
                let cutoff = now - keep.wholeMilliseconds
                // Small batches keep each statement's locks short.
                while true {
                    let deleted = try await connection.checkedQuery(
                        """
                        DELETE FROM jobs WHERE id IN (
                            SELECT id FROM jobs WHERE state = \(state.rawValue) AND finished_at < \(cutoff) LIMIT 2000)
                        RETURNING id
                        """, logger: logger
                    ).collect().count
                    total += deleted
                    if deleted < 2000 { break }
                }
            }
        }
        return total
    }

    public func stats() async throws -> QueueStats {
        let now = nowMilliseconds
        return try await database.withTransaction { connection in
            // One snapshot for every count, so they add up.
            try await connection.checkedQuery(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var stats = QueueStats()
            let states = try await connection.checkedQuery(
                "SELECT state, count(*) FROM jobs GROUP BY state", logger: logger)
            for try await (state, count) in states.decode((String, Int).self) {
                switch JobState(rawValue: state) {
                case .available: stats.available = count
                case .running: stats.running = count
                case .succeeded: stats.succeeded = count
                case .discarded: stats.discarded = count
                case nil: break
                }
            }
            let row = try await connection.checkedQuery(
                """
                SELECT count(*) FILTER (WHERE run_at > \(now)), min(run_at),
                    count(DISTINCT fairness_key) FILTER (WHERE run_at <= \(now))
                FROM jobs WHERE state = 'available'
                """, logger: logger
            ).collect().first
            if let (scheduled, oldest, keys) = try row?.decode((Int, Int64?, Int).self) {
                stats.scheduled = scheduled
                stats.keysWaiting = keys
                if let oldest, oldest <= now { stats.oldestAvailableAgeSeconds = Double(now - oldest) / 1000 }
            }
            let reasons = try await connection.checkedQuery(
                """
                SELECT wait_reason, count(*) FROM jobs
                WHERE state = 'available' AND wait_reason IS NOT NULL GROUP BY wait_reason
                """, logger: logger)
            for try await (reason, count) in reasons.decode((String, Int).self) { stats.deferred[reason] = count }
            return stats
        }
    }

    public func list(state: JobState, limit: Int) async throws -> [JobRecord] {
        try await database.withConnection { connection in
            try await Self.records(
                connection.checkedQuery(
                    "SELECT \(unescaped: JobRecordRow.columns) FROM jobs WHERE state = \(state.rawValue) ORDER BY id LIMIT \(max(limit, 0))",
                    logger: logger))
        }
    }

    public func job(id: Int64) async throws -> JobRecord? {
        try await database.withConnection { connection in
            try await Self.records(
                connection.checkedQuery(
                    "SELECT \(unescaped: JobRecordRow.columns) FROM jobs WHERE id = \(id)", logger: logger)
            ).first
        }
    }

    private static func records(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for try await row in rows { records.append(try JobRecordRow.decode(row)) }
        return records
    }

    public func retry(jobId: Int64) async throws -> AdminResult {
        let now = nowMilliseconds
        let result = try await database.withTransaction { connection -> AdminResult in
            guard let state = try await Self.lockedState(of: jobId, on: connection, logger) else { return .notFound }
            guard state == .discarded || state == .available else { return .notApplicable(state) }
            do {
                try await connection.checkedQuery(
                    """
                    UPDATE jobs SET state = 'available', attempt = 0, run_at = \(now), finished_at = NULL, worker_id = NULL
                    WHERE id = \(jobId)
                    """, logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw JobQueueError.uniqueKeyTaken
            }
            try await PostgresRunFollowing.jobMoved(
                jobId, from: state, to: .available, lastError: nil, at: now, on: connection, logger: logger)
            try await Self.notify(connection, logger: logger)
            return .changed
        }
        if result == .changed { notifier.notify() }
        return result
    }

    public func discard(jobId: Int64) async throws -> AdminResult {
        let now = nowMilliseconds
        return try await database.withTransaction { connection -> AdminResult in
            guard let state = try await Self.lockedState(of: jobId, on: connection, logger) else { return .notFound }
            guard state == .available || state == .running else { return .notApplicable(state) }
            try await connection.checkedQuery(
                """
                UPDATE jobs SET state = 'discarded', finished_at = \(now), lease_until = NULL,
                    lease_token = lease_token + 1, last_error = 'discarded_by_operator'
                WHERE id = \(jobId)
                """, logger: logger)
            try await PostgresRunFollowing.jobMoved(
                jobId, from: state, to: .discarded, lastError: "discarded_by_operator", at: now, on: connection,
                logger: logger)
            return .changed
        }
    }

    /// The job's state, its row locked until the transaction ends (so the check and the change agree).
    private static func lockedState(of jobId: Int64, on connection: PostgresConnection, _ logger: Logger) async throws
        -> JobState?
    {
        let row = try await connection.checkedQuery(
            "SELECT state FROM jobs WHERE id = \(jobId) FOR UPDATE", logger: logger
        )
        .collect().first
        return try row.flatMap { JobState(rawValue: try $0.decode(String.self)) }
    }

    /// Only jobs not yet due count (see `SQLiteJobQueue.nextDueDate`).
    public func nextDueDate() async throws -> Date? {
        let now = nowMilliseconds
        return try await database.withConnection { connection in
            try await Self.nextDue(after: now, on: connection, logger)
        }
    }

    /// Promoted jobs start at the aged priority's virtual time now, so they are served within a round.
    public func promoteAgedJobs() async throws -> Int {
        let cutoff = nowMilliseconds - fairness.agingAfter.wholeMilliseconds
        let priority = fairness.agedPriority
        return try await database.withTransaction { connection in
            try await connection.checkedQuery(
                """
                UPDATE jobs SET priority = \(priority), vtime = coalesce(
                    (SELECT vtime FROM jobs WHERE state = 'available' AND priority = \(priority)
                     ORDER BY priority DESC, vtime, id LIMIT 1),
                    (SELECT vtime FROM queue_clock WHERE queue_clock.priority = \(priority)), 0)
                WHERE state = 'available' AND run_at <= \(cutoff) AND priority < \(priority)
                RETURNING id
                """, logger: logger
            ).collect().count
        }
    }
}
