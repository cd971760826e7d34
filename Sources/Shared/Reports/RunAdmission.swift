import Foundation
public import JobQueue
import ReportsSupport
import Security
import Tracing

/// The rule that admits a run of a report, for Run now and for the scheduler alike: at most one run of
/// a report waits (a request joins it: it has not read Jira yet, so it will show the latest data); a
/// report whose run is running gets one follow-up; a Run now that would queue a run counts against its
/// user's per-minute limit (joining is free). The run's job is fair-queued by the Microsoft user whose
/// request budget its writes spend, or by its owner in Jira before they connected.
///
/// The rule is written once, here, as a pure decision over what the backend reads for it
/// (`RunAdmission.State`); each backend implements one atomic operation
/// (`RunAdmissionStorage.admit`) that reads that state and applies the decision in one transaction,
/// so two requests, or a request and the scheduler, cannot both queue a waiting run.
public enum RunAdmission {
    /// What the backend reads about one report, in the admission's transaction.
    public struct State: Sendable, Equatable {
        /// The report's run whose job has not started (a deferred job counts: it has not started).
        public var waiting: ReportRun?
        /// The report's newest run whose job is running.
        public var running: ReportRun?
        /// The owner's newest counted requests inside the limit's window (empty when none is counted).
        public var recentRequests: [Int64]
        /// The owner's Microsoft user, if connected.
        public var microsoftUserId: String?

        public init(
            waiting: ReportRun? = nil, running: ReportRun? = nil, recentRequests: [Int64] = [],
            microsoftUserId: String? = nil
        ) {
            self.waiting = waiting
            self.running = running
            self.recentRequests = recentRequests
            self.microsoftUserId = microsoftUserId
        }
    }

    /// One run to admit.
    public struct Request: Sendable {
        public let job: RunReportJob
        let trigger: ReportRun.Trigger
        /// The schedule slot a scheduled run is for (lateness is measured from it).
        let slotAt: Int64?
        /// The per-user limit this request counts against (Run now), or nil (the scheduler).
        public let limit: UserRateLimit?
        /// The enqueuing span's `traceparent`, carried by the job (`JobTrace`); nil for a schedule.
        let traceParent: String?

        public init(
            job: RunReportJob, trigger: ReportRun.Trigger, slotAt: Int64? = nil, limit: UserRateLimit?,
            traceParent: String? = nil
        ) {
            self.job = job
            self.trigger = trigger
            self.slotAt = slotAt
            self.limit = limit
            self.traceParent = traceParent
        }

        public var owner: ReportOwner {
            ReportOwner(installationId: job.installationId, accountId: job.ownerAccountId)
        }
    }

    /// What the backend then does, in the same transaction.
    public enum Decision: Sendable {
        /// Nothing is written; the request joined this waiting run.
        case join(ReportRun)
        /// Nothing is written; the user's limit is reached.
        case refuse(retryAfter: Duration)
        /// Insert `job` and `run` (the run takes the job's id once enqueued), and record one request of
        /// `countedKind` for the owner when set.
        case enqueue(job: NewJob, run: ReportRun, slotAt: Int64?, followUpOf: ReportRun?, countedKind: UserRequestKind?)
    }

    /// The decision for `request` given `state`, at `now` (epoch milliseconds).
    public static func decide(_ request: Request, _ state: State, now: Int64) throws -> Decision {
        if let waiting = state.waiting { return .join(waiting) }
        if let limit = request.limit, let wait = limit.wait(recent: state.recentRequests, now: now) {
            return .refuse(retryAfter: wait)
        }
        let job = request.job
        let newJob = try NewJob(
            kind: RunReportJob.kind, parameters: job, priority: request.trigger == .manual ? 10 : 0,
            fairnessKey: fairnessKey(request.owner, microsoftUserId: state.microsoftUserId),
            exclusiveKey: exclusiveKey(reportId: job.reportId), traceParent: request.traceParent)
        let run = ReportRun(
            id: job.runId, reportId: job.reportId, installationId: job.installationId, trigger: request.trigger,
            status: .queued, attempt: 0, queuedAt: now)
        return .enqueue(
            job: newJob, run: run, slotAt: request.slotAt, followUpOf: state.running,
            countedKind: request.limit?.kind)
    }

    /// What the request answers once the decision is applied; `jobId` is the enqueued job's id.
    static func result(of decision: Decision, jobId: Int64?) -> RunRequestResult {
        switch decision {
        case .join(let run): return .joined(run)
        case .refuse(let wait): return .rateLimited(retryAfter: wait)
        case .enqueue(_, var run, _, let running, _):
            run.jobId = jobId
            if let running { return .followUp(run, running: running) }
            return .queued(run)
        }
    }

    /// The runs of one report share a job key the queue leases one job of at a time (`NewJob.exclusiveKey`):
    /// one run at a time writes the report's page, and a second waits its turn in the queue, unleased.
    static func exclusiveKey(reportId: String) -> String { "report:\(reportId)" }

    /// Whose turn a run takes in the queue: the Microsoft user whose request budget its writes spend,
    /// or, before the owner has connected, the owner in Jira.
    static func fairnessKey(_ owner: ReportOwner, microsoftUserId: String?) -> String {
        if let microsoftUserId { return "ms:\(microsoftUserId)" }
        return "jira:\(owner.installationId):\(owner.accountId)"
    }
}

/// The one atomic operation run admission needs from a backend: in one transaction, read
/// `RunAdmission.State` for the request's report (nil when the report is not the owner's), let `decide`
/// choose, and apply the decision (enqueue the job, insert the run with its job id and slot, record the
/// counted request). Returns the decision and the enqueued job's id. The rule stays in `decide`; the
/// backend only reads and writes.
public protocol RunAdmissionStorage: Sendable {
    func admit(
        _ request: RunAdmission.Request, now: Int64,
        decide: @Sendable (RunAdmission.State) throws -> RunAdmission.Decision
    ) async throws -> (decision: RunAdmission.Decision, jobId: Int64?)?
}

extension RunAdmission {
    /// "Run now": seals the forwarded user token to the new run (it travels in the job), then admits.
    static func requestRun(
        _ owner: ReportOwner, reportId: String, userToken: Secret?, storage: any RunAdmissionStorage,
        vault: TokenVault, limit: UserRateLimit, now: Date
    ) async throws -> RunRequestResult {
        let runId = UUID().uuidString.lowercased()
        var sealed: String?
        var expiry: Int64?
        if let userToken, !userToken.isEmpty {
            sealed = Base64URL.encode(
                try vault.seal(
                    userToken, context: .forwardedUserToken(installationId: owner.installationId, runId: runId)))
            expiry = SystemTokens.expiry(of: userToken).map(Timestamp.milliseconds)
        }
        let job = RunReportJob(
            runId: runId, reportId: reportId, installationId: owner.installationId, ownerAccountId: owner.accountId,
            userToken: sealed, userTokenExpiresAt: expiry)
        let nowMs = Timestamp.milliseconds(now)
        // The enqueue's span; the job carries it, so the worker's spans continue this trace.
        return try await withSpan("enqueue run-report", ofKind: .producer) { span in
            let request = Request(job: job, trigger: .manual, limit: limit, traceParent: JobTrace.traceParent())
            guard
                let applied = try await storage.admit(
                    request, now: nowMs, decide: { try decide(request, $0, now: nowMs) })
            else { return .reportNotFound }
            let result = result(of: applied.decision, jobId: applied.jobId)
            span.attributes["reports.admission"] = result.admission
            if let jobId = applied.jobId { span.attributes["job.id"] = jobId }
            return result
        }
    }
}
