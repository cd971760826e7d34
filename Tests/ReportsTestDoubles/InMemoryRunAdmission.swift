import Foundation
import JobQueue
package import Reports
import Synchronization

/// `RunAdmissionStorage` in memory: the reference the SQLite and PostgreSQL stores are held to. One
/// lock makes read-decide-apply atomic, as their transactions do. Jobs are numbered from 1; a job's
/// state is moved by the test (`start`, `finish`) as a worker would.
package final class InMemoryRunAdmission: RunAdmissionStorage {
    package enum JobState: Sendable { case available, running, done }

    struct Stored: Sendable {
        var run: ReportRun
        var jobState: JobState
        var fairnessKey: String
        var priority: Int
        var slotAt: Int64?
    }

    struct Contents: Sendable {
        var reports: [String: ReportOwner] = [:]
        var runs: [Stored] = []
        var requests: [(owner: ReportOwner, kind: UserRequestKind, at: Int64)] = []
        var microsoftUsers: [String: String] = [:]
    }

    private let contents = Mutex(Contents())

    package init() {}

    package func addReport(_ id: String, owner: ReportOwner) {
        contents.withLock { $0.reports[id] = owner }
    }

    package func connect(_ owner: ReportOwner, microsoftUserId: String) {
        contents.withLock { $0.microsoftUsers["\(owner.installationId) \(owner.accountId)"] = microsoftUserId }
    }

    package func setJob(ofRun runId: String, to state: JobState) {
        contents.withLock { contents in
            for index in contents.runs.indices where contents.runs[index].run.id == runId {
                contents.runs[index].jobState = state
            }
        }
    }

    /// The fairness key and priority the run's job was enqueued with, and its slot.
    package func job(ofRun runId: String) -> (fairnessKey: String, priority: Int, slotAt: Int64?)? {
        contents.withLock { contents in
            contents.runs.first { $0.run.id == runId }.map { ($0.fairnessKey, $0.priority, $0.slotAt) }
        }
    }

    package var runCount: Int { contents.withLock { $0.runs.count } }

    package func admit(
        _ request: RunAdmission.Request, now: Int64,
        decide: @Sendable (RunAdmission.State) throws -> RunAdmission.Decision
    ) async throws -> (decision: RunAdmission.Decision, jobId: Int64?)? {
        try contents.withLock { contents -> (decision: RunAdmission.Decision, jobId: Int64?)? in
            let owner = request.owner
            guard contents.reports[request.job.reportId] == owner else { return nil }
            let active = contents.runs.filter { $0.run.reportId == request.job.reportId }
                .sorted { $0.run.queuedAt > $1.run.queuedAt }
            var state = RunAdmission.State()
            state.waiting = active.first { $0.jobState == .available }?.run
            state.running = active.first { $0.jobState == .running }?.run
            if let limit = request.limit {
                state.recentRequests = contents.requests.filter {
                    $0.owner == owner && $0.kind == limit.kind && $0.at > limit.windowStart(now: now)
                }.map(\.at).sorted(by: >).prefix(limit.perMinute).map { $0 }
            }
            state.microsoftUserId = contents.microsoftUsers["\(owner.installationId) \(owner.accountId)"]
            let decision = try decide(state)
            guard case .enqueue(let job, var run, let slotAt, _, let counted) = decision else {
                return (decision, nil)
            }
            let jobId = Int64(contents.runs.count + 1)
            run.jobId = jobId
            contents.runs.append(
                Stored(
                    run: run, jobState: .available, fairnessKey: job.fairnessKey, priority: job.priority,
                    slotAt: slotAt))
            if let counted { contents.requests.append((owner, counted, now)) }
            return (decision, jobId)
        }
    }
}
