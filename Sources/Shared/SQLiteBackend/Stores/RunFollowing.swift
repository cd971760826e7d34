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
        }
    }
}
