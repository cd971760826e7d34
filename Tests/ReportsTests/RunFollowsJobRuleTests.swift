import Foundation
import JobQueue
import Testing

@testable import Reports

/// `RunFollowsJob`: what a run does when the queue moves its job, in memory. The conformance suite
/// (`RunFollowsJobTests`) holds both backends' queues to it.
@Suite("A run follows its job")
struct RunFollowsJobRuleTests {
    @Test func aDiscardEndsTheRunWithTheCodeAndMessageOfTheLastError() {
        #expect(
            RunFollowsJob.action(
                jobMovedFrom: .running, to: .discarded, lastError: "jql_invalid: Jira did not accept this JQL")
                == .end(code: "jql_invalid", message: "Jira did not accept this JQL"))
        // The message may itself hold ": "; only the first separates it from the code.
        #expect(
            RunFollowsJob.action(jobMovedFrom: .available, to: .discarded, lastError: "graph_error: HTTP 500: busy")
                == .end(code: "graph_error", message: "HTTP 500: busy"))
    }

    @Test func theQueuesOwnReasonsAreNamedForPeople() {
        #expect(
            RunFollowsJob.action(
                jobMovedFrom: .running, to: .discarded, lastError: "lease_expired: worker w1 stopped heartbeating")
                == .end(
                    code: "worker_lost", message: "the worker running this report stopped and its attempts are used up")
        )
        #expect(
            RunFollowsJob.action(jobMovedFrom: .available, to: .discarded, lastError: "discarded_by_operator")
                == .end(code: "cancelled_by_operator", message: "an operator cancelled this run"))
    }

    @Test func anErrorWithoutACodeStillEndsTheRunReadably() {
        for lastError in [nil, "", ":starts with a colon", "no colon at all"] {
            guard
                case .end(let code, let message) = RunFollowsJob.action(
                    jobMovedFrom: .running, to: .discarded, lastError: lastError)
            else {
                Issue.record("\(String(describing: lastError)) did not end the run")
                continue
            }
            #expect(code == "job_discarded" && message == "the run was ended by the queue", "\(lastError ?? "nil")")
        }
        #expect(
            RunFollowsJob.action(jobMovedFrom: .running, to: .discarded, lastError: "code_only:")
                == .end(code: "code_only", message: "the run was ended by the queue"))
    }

    @Test func handedBackWaitsARetryQueuesAgainAndOtherMovesLeaveTheRun() {
        #expect(RunFollowsJob.action(jobMovedFrom: .running, to: .available, lastError: "x: y") == .wait)
        #expect(RunFollowsJob.action(jobMovedFrom: .discarded, to: .available, lastError: nil) == .queueAgain)
        for (previous, state) in [
            (JobState.available, JobState.running), (.running, .succeeded), (.available, .available),
            (.discarded, .discarded),
        ] {
            #expect(
                RunFollowsJob.action(jobMovedFrom: previous, to: state, lastError: nil) == nil, "\(previous) → \(state)"
            )
        }
    }

    @Test func aSettledAttemptEndsWaitsOrRetriesTheRunAsItsOutcomeSays() {
        let outcome = RunOutcome(issueCount: 12, pageUrl: "https://example.test/p")
        #expect(
            RunFollowsJob.action(settled: .succeeded, result: outcome.jobResult, jobNow: .succeeded)
                == .succeed(issueCount: 12, pageUrl: "https://example.test/p"))
        // A job whose handler gave no run outcome still ends its run (without a count).
        #expect(
            RunFollowsJob.action(settled: .succeeded, result: JobResult(), jobNow: .succeeded)
                == .succeed(issueCount: nil, pageUrl: nil))
        let failure = JobFailure.retryable("graph_error", "Microsoft Graph answered 503")
        #expect(
            RunFollowsJob.action(settled: .failed(failure), result: nil, jobNow: .available)
                == .retry(code: "graph_error", message: "Microsoft Graph answered 503"))
        #expect(
            RunFollowsJob.action(settled: .failed(failure), result: nil, jobNow: .discarded)
                == .end(code: "graph_error", message: "Microsoft Graph answered 503"))
        #expect(
            RunFollowsJob.action(
                settled: .deferred(JobDeferral("busy", delay: .seconds(1))), result: nil, jobNow: .available)
                == .wait)
        #expect(RunFollowsJob.action(settled: .released, result: nil, jobNow: .available) == .wait)
    }

    /// The outcome reaches the queue as bytes: the count and link as JSON, the snapshot after a zero
    /// byte, whatever bytes the snapshot holds (zeros among them).
    @Test func anOutcomeReadsBackWithOrWithoutItsSnapshot() throws {
        let snapshot = Data([0, 1, 0, 255, 0])
        let full = RunOutcome(issueCount: 7, pageUrl: "https://onenote.example/p?a=1&b=\u{0}", snapshot: snapshot)
        #expect(RunOutcome(full.jobResult) == full)
        #expect(full.jobResult.bytes.count < 80, "the snapshot is not inflated to base64")
        let plain = RunOutcome(issueCount: 0, pageUrl: nil)
        #expect(RunOutcome(plain.jobResult) == plain && plain.jobResult.bytes.firstIndex(of: 0) == nil)
        #expect(RunOutcome(JobResult()) == nil && RunOutcome(JobResult(bytes: Data([0, 1]))) == nil)
    }
}
