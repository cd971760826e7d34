public import Foundation
public import JobQueue
import Rendering

/// A run tells the truth about its job, whatever moves the job. The run's status has one owner: the
/// backend's run operations, which apply Reports' rules in the transaction of the change, and nothing
/// else writes it (no schema trigger). Every change rides on a move of the job, and the queue applies
/// this rule in the same transaction as the move. When the queue leases a run's job
/// (`startsRun(kind:)`), the run is running with the lease's attempt, and the queue reads the run's
/// `RunClaim` for the handler in that transaction. When a worker settles an attempt
/// (`action(settled:result:jobNow:)`):
///
/// - a success ends the run as succeeded, with the issue count and page link of the handler's
///   `RunOutcome`;
/// - a failure with attempts left shows the run waiting, with the failure's code and message;
///   a failure that ends the job ends the run as failed with them;
/// - a deferral or a release shows the run waiting again.
///
/// The queue's own moves (`action(jobMovedFrom:to:lastError:)`):
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
        /// The run waits for its next attempt, showing why the last one failed.
        case retry(code: String, message: String)
        /// The run succeeded; the count and link are nil when the job gave no `RunOutcome`. The
        /// snapshot (`ReportSnapshot`'s bytes) replaces the report's, when there is one.
        case succeed(issueCount: Int?, pageUrl: String?, snapshot: Data? = nil)
    }

    /// Whether a job of `kind` has a run, which its lease starts: the queue then marks the run running
    /// (its attempt, and its start when it had none) and reads its `RunClaim` for the handler.
    public static func startsRun(kind: String) -> Bool { kind == RunReportJob.kind }

    /// What the run does when a worker settles its job's attempt with `outcome` (and, for a success,
    /// the handler's `result`) and the job is now in `state`; nil when the move does not concern the run.
    public static func action(settled outcome: JobOutcome, result: JobResult?, jobNow state: JobState) -> Action? {
        switch (outcome, state) {
        case (.succeeded, .succeeded):
            let run = result.flatMap(RunOutcome.init)
            return .succeed(issueCount: run?.issueCount, pageUrl: run?.pageUrl, snapshot: run?.snapshot)
        case (.failed(let failure), .available): return .retry(code: failure.code, message: failure.message)
        case (.failed(let failure), .discarded): return .end(code: failure.code, message: failure.message)
        case (.deferred, .available), (.released, .available): return .wait
        default: return nil
        }
    }

    /// What the run does when the queue moves its job from `previous` to `state`; nil when the move
    /// does not concern the run (a lease, which `startsRun(kind:)` covers; a settle, which
    /// `action(settled:result:jobNow:)` covers).
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

/// What a run's success hands the queue (`JobResult`'s bytes): the issues written and the page's
/// link, recorded on the run in the transaction that marks its job succeeded, and the page's snapshot,
/// stored in that transaction too.
///
/// Bytes: the count and link as JSON, then, when there is a snapshot, a zero byte and the snapshot's
/// own bytes (JSON never holds a raw zero byte, so the first one ends it). The snapshot is not put in
/// the JSON: as base64 there, a 5,000-issue snapshot took milliseconds each way.
package struct RunOutcome: Equatable {
    let issueCount: Int
    let pageUrl: String?
    /// What the page now shows, for the next run's changes (at most `ReportSnapshot.maxBytes`).
    let snapshot: Data?

    private struct Fields: Codable {
        let issueCount: Int
        let pageUrl: String?
    }

    package init(issueCount: Int, pageUrl: String?, snapshot: Data? = nil) {
        self.issueCount = issueCount
        self.pageUrl = pageUrl
        self.snapshot = snapshot.flatMap { $0.count <= ReportSnapshot.maxBytes ? $0 : nil }
    }

    /// Nil for bytes that are not a run's outcome (a job without a run).
    init?(_ result: JobResult) {
        let bytes = result.bytes
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        guard let fields = try? JSONDecoder().decode(Fields.self, from: bytes[bytes.startIndex..<end]) else {
            return nil
        }
        self.init(
            issueCount: fields.issueCount, pageUrl: fields.pageUrl,
            snapshot: end == bytes.endIndex ? nil : Data(bytes[bytes.index(after: end)...]))
    }

    package var jobResult: JobResult {
        // Two plain fields always encode.
        var bytes = (try? JSONEncoder().encode(Fields(issueCount: issueCount, pageUrl: pageUrl))) ?? Data()
        if let snapshot {
            bytes.append(0)
            bytes.append(snapshot)
        }
        return JobResult(bytes: bytes)
    }
}
