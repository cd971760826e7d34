import Foundation
public import JobQueue

/// A run tells the truth about its job, whatever moves the job. The run's status has one owner: the
/// backend's run operations, which apply Reports' rules in the transaction of the change, and nothing
/// else writes it (no schema trigger). While the handler runs the job, its `LeasedRunRecorder` records
/// the run (claimed, succeeded, failed, handed back). The moves the handler does not see are the
/// queue's own, and the queue applies this rule to each in the same transaction as the move:
///
/// - a job discarded (attempts used up, a lease that ran out on its last attempt, an operator's
///   discard, a failure no handler recorded) ends its run as failed, with a code and message read from
///   the job's last error, unless the run already ended;
/// - a discarded job an operator retries queues its run again, its end and error cleared;
/// - a running job handed back to the queue (deferred, released at shutdown, its lease reclaimed)
///   shows its run as waiting again.
public enum RunFollowsJob {
    public enum Action: Sendable, Equatable {
        /// The run fails with this code and message, unless it has already ended.
        case end(code: String, message: String)
        /// The run is queued again, its end and error cleared.
        case queueAgain
        /// A running run waits again.
        case wait
    }

    /// What the run does when the queue moves its job from `previous` to `state`; nil when the move
    /// does not concern the run (a lease, a success the handler recorded).
    public static func action(jobMovedFrom previous: JobState, to state: JobState, lastError: String?) -> Action? {
        switch (previous, state) {
        case (.discarded, .discarded), (_, .running), (_, .succeeded): nil
        case (_, .discarded): ended(lastError: lastError)
        case (.discarded, .available): .queueAgain
        case (.running, .available): .wait
        case (.available, .available), (.succeeded, .available): nil
        }
    }

    /// The run's failure as the queue's last error says it: `code: message` as `JobFailure` writes it,
    /// with the queue's own two reasons named for people.
    static func ended(lastError: String?) -> Action {
        let error = lastError ?? ""
        if error.hasPrefix("lease_expired:") {
            return .end(
                code: "worker_lost", message: "the worker running this report stopped and its attempts are used up")
        }
        if error == "discarded_by_operator" {
            return .end(code: "cancelled_by_operator", message: "an operator cancelled this run")
        }
        guard let colon = error.firstIndex(of: ":"), colon > error.startIndex else {
            return .end(code: "job_discarded", message: "the run was ended by the queue")
        }
        let message =
            error.range(of: ": ").flatMap { $0.lowerBound > error.startIndex ? String(error[$0.upperBound...]) : nil }
            ?? "the run was ended by the queue"
        return .end(code: String(error[..<colon]), message: message)
    }
}
