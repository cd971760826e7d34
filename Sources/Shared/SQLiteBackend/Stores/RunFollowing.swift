import GRDB
import JobQueue
import Reports

/// The runs' side of the queue's moves over the SQLite file (`RunFollowsJob` says which move does
/// what): called by `SQLiteJobQueue` inside the transaction that moves the job, so the run and its job
/// never disagree, even for a moment.
enum RunFollowing {
    /// Applies the rule to the run of a job the queue just moved from `previous` to `state`.
    static func jobMoved(
        _ jobId: Int64, from previous: JobState, to state: JobState, lastError: String?, at now: Int64,
        in db: Database
    ) throws {
        guard let action = RunFollowsJob.action(jobMovedFrom: previous, to: state, lastError: lastError) else {
            return
        }
        try apply(action, jobId, at: now, in: db)
    }

    /// Applies the rule to the run of a job whose attempt a worker just settled with `outcome`.
    static func jobSettled(
        _ jobId: Int64, outcome: JobOutcome, result: JobResult?, now state: JobState, at now: Int64, in db: Database
    ) throws {
        guard let action = RunFollowsJob.action(settled: outcome, result: result, jobNow: state) else { return }
        try apply(action, jobId, at: now, in: db)
    }

    private static func apply(_ action: RunFollowsJob.Action, _ jobId: Int64, at now: Int64, in db: Database) throws {
        switch action {
        case .end(let code, let message):
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = 'failed', finished_at = ?, error_code = ?, error_message = ?
                    WHERE job_id = ? AND status IN ('queued', 'running')
                    """
            ).execute(arguments: [now, code, message, jobId])
        case .queueAgain:
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = 'queued', finished_at = NULL, error_code = NULL, error_message = NULL
                    WHERE job_id = ?
                    """
            ).execute(arguments: [jobId])
        case .wait:
            try db.cachedStatement(sql: "UPDATE runs SET status = 'queued' WHERE job_id = ? AND status = 'running'")
                .execute(arguments: [jobId])
        case .retry(let code, let message):
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = 'queued', error_code = ?, error_message = ?
                    WHERE job_id = ? AND status IN ('queued', 'running')
                    """
            ).execute(arguments: [code, message, jobId])
        case .succeed(let issueCount, let pageUrl, let snapshot):
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = 'succeeded', finished_at = ?, issue_count = ?, page_url = ?,
                        error_code = NULL, error_message = NULL
                    WHERE job_id = ? AND status IN ('queued', 'running')
                    """
            ).execute(arguments: [now, issueCount, pageUrl, jobId])
            guard let snapshot, db.changesCount > 0 else { return }
            try db.cachedStatement(
                sql: """
                    INSERT INTO report_snapshots (report_id, taken_at, body)
                    SELECT report_id, ?, ? FROM runs WHERE job_id = ?
                    ON CONFLICT (report_id) DO UPDATE SET taken_at = excluded.taken_at, body = excluded.body
                    """
            ).execute(arguments: [now, snapshot, jobId])
        }
    }
}
