import Foundation
import JobQueue
import Logging
import NIOCore
import PostgresNIO
import Reports

/// The runs' side of the queue's moves on PostgreSQL (`RunFollowsJob` says which move does what):
/// called by `PostgresJobQueue` on the connection of the transaction that moves the job.
enum PostgresRunFollowing {
    /// Applies the rule to the run of a job the queue just moved from `previous` to `state`.
    static func jobMoved(
        _ jobId: Int64, from previous: JobState, to state: JobState, lastError: String?, at now: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let action = RunFollowsJob.action(jobMovedFrom: previous, to: state, lastError: lastError) else {
            return
        }
        try await apply(action, jobId, at: now, on: connection, logger: logger)
    }

    /// Applies the rule to the run of a job whose attempt a worker just settled with `outcome`.
    static func jobSettled(
        _ jobId: Int64, outcome: JobOutcome, result: JobResult?, now state: JobState, at now: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard let action = RunFollowsJob.action(settled: outcome, result: result, jobNow: state) else { return }
        try await apply(action, jobId, at: now, on: connection, logger: logger)
    }

    private static func apply(
        _ action: RunFollowsJob.Action, _ jobId: Int64, at now: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let query: PostgresQuery
        switch action {
        case .end(let code, let message):
            query = """
                UPDATE runs SET status = 'failed', finished_at = \(now), error_code = \(code), error_message = \(message)
                WHERE job_id = \(jobId) AND status IN ('queued', 'running')
                """
        case .queueAgain:
            query = """
                UPDATE runs SET status = 'queued', finished_at = NULL, error_code = NULL, error_message = NULL
                WHERE job_id = \(jobId)
                """
        case .wait:
            query = "UPDATE runs SET status = 'queued' WHERE job_id = \(jobId) AND status = 'running'"
        case .retry(let code, let message):
            query = """
                UPDATE runs SET status = 'queued', error_code = \(code), error_message = \(message)
                WHERE job_id = \(jobId) AND status IN ('queued', 'running')
                """
        case .succeed(let issueCount, let pageUrl, let snapshot):
            // Successes are settled in one statement with their snapshots (`RunsOfSuccesses`); this
            // is the same rule for a success settled alone.
            query = """
                WITH ended AS (
                    UPDATE runs SET status = 'succeeded', finished_at = \(now), issue_count = \(issueCount),
                        page_url = \(pageUrl), error_code = NULL, error_message = NULL
                    WHERE job_id = \(jobId) AND status IN ('queued', 'running')
                    RETURNING report_id
                )
                INSERT INTO report_snapshots (report_id, taken_at, body)
                SELECT report_id, \(now), \(ByteBuffer(bytes: snapshot ?? Data())) FROM ended
                WHERE \(snapshot != nil)
                ON CONFLICT (report_id) DO UPDATE SET taken_at = EXCLUDED.taken_at, body = EXCLUDED.body
                """
        }
        try await connection.checkedQuery(query, logger: logger)
    }
}
