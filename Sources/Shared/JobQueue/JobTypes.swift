public import Foundation

/// Where a job is in its life. `available` jobs wait for `runAt`; `running` jobs hold a lease;
/// `succeeded` and `discarded` are final (a discarded job stays for inspection until pruned).
public enum JobState: String, Sendable, Codable, CaseIterable {
    case available
    case running
    case succeeded
    case discarded
}

/// A job to put on the queue.
public struct NewJob: Sendable {
    public var kind: String
    /// JSON text. Anything else is refused at enqueue.
    var payload: Data
    /// Higher runs first.
    public var priority: Int
    /// Not leased before this time; `nil` means now.
    public var runAt: Date?
    public var maxAttempts: Int
    /// While a job with this key waits or runs, enqueueing another returns the first one instead.
    public var uniqueKey: String?
    /// Whose turn this job takes: the lease serves keys in turn and caps each key's running
    /// jobs. `""` is the key of jobs that belong to no one (diagnostics); it has no cap.
    public var fairnessKey: String
    /// At most one job of this key runs at a time: the lease passes over a due job whose key a running
    /// job holds (or a job leased before it in the same lease), and it keeps its place until that job
    /// leaves `running`. A report's runs share one, so one job at a time writes the report's page.
    public var exclusiveKey: String?
    /// The W3C `traceparent` of the span that enqueued the job, so the worker's spans continue its
    /// trace (`JobTrace`); nil when nothing traced the enqueue. A malformed value is dropped, never refused.
    public private(set) var traceParent: String?

    public static let defaultMaxAttempts = 20

    public init(
        kind: String,
        payload: Data,
        priority: Int = 0,
        runAt: Date? = nil,
        maxAttempts: Int = NewJob.defaultMaxAttempts,
        uniqueKey: String? = nil,
        fairnessKey: String = "",
        exclusiveKey: String? = nil,
        traceParent: String? = nil
    ) {
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.fairnessKey = fairnessKey
        self.exclusiveKey = exclusiveKey
        self.traceParent = traceParent.flatMap { JobTrace.isWellFormed($0) ? $0 : nil }
    }

    /// Encodes `parameters` as the JSON payload.
    public init<Parameters: Encodable>(
        kind: String,
        parameters: Parameters,
        priority: Int = 0,
        runAt: Date? = nil,
        maxAttempts: Int = NewJob.defaultMaxAttempts,
        uniqueKey: String? = nil,
        fairnessKey: String = "",
        exclusiveKey: String? = nil,
        traceParent: String? = nil
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try self.init(
            kind: kind, payload: encoder.encode(parameters), priority: priority, runAt: runAt,
            maxAttempts: maxAttempts, uniqueKey: uniqueKey, fairnessKey: fairnessKey, exclusiveKey: exclusiveKey,
            traceParent: traceParent)
    }
}

/// What `enqueue` did.
public struct EnqueueResult: Sendable, Equatable {
    public let jobId: Int64
    /// `false` when a waiting or running job with the same unique key was returned instead.
    public let created: Bool

    public init(jobId: Int64, created: Bool) {
        self.jobId = jobId
        self.created = created
    }
}

/// Proof of a lease: the job id and the fencing token the lease was granted with. Every change to a
/// running job must present it; once the lease is lost (expired, reclaimed, re-leased), it changes nothing.
public struct JobLease: Sendable, Hashable {
    public let jobId: Int64
    public let token: Int64
    /// The attempt this lease is for (1 on the first run).
    public let attempt: Int
    public let maxAttempts: Int

    public init(jobId: Int64, token: Int64, attempt: Int, maxAttempts: Int) {
        self.jobId = jobId
        self.token = token
        self.attempt = attempt
        self.maxAttempts = maxAttempts
    }
}

/// A job handed to a worker.
public struct LeasedJob: Sendable {
    public let lease: JobLease
    public let kind: String
    let payload: Data
    public let priority: Int
    public let createdAt: Date
    /// The enqueuer's trace, when it had one (`NewJob.traceParent`).
    public let traceParent: String?
    /// What the backend read for the job in the transaction that leased it, for its handler (a report
    /// run's claim: the report, its page and its site, with the run marked running); nil when the
    /// backend reads nothing for the job's kind. Reading it with the lease saves the handler a
    /// transaction of its own, and nothing can change it between the lease and the read.
    public var claim: (any Sendable)?

    public var id: Int64 { lease.jobId }

    public init(
        lease: JobLease, kind: String, payload: Data, priority: Int, createdAt: Date, traceParent: String? = nil
    ) {
        self.lease = lease
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.createdAt = createdAt
        self.traceParent = traceParent
    }
}

/// How an attempt ended.
public enum JobOutcome: Sendable, Equatable {
    case succeeded
    case failed(JobFailure)
    /// Handed back unfinished (shutdown): the attempt does not count.
    case released
    /// Handed back to wait: due again after the delay, without counting the attempt (another job of
    /// the same report is writing, a create's outcome is still settling upstream, the key's
    /// budget at the destination is spent — then the key's other due jobs wait too).
    case deferred(JobDeferral)
}

/// An attempt's outcome, with the lease that proves the worker may record it, and what a success
/// produced.
public struct SettledJob: Sendable, Equatable {
    public let lease: JobLease
    public let outcome: JobOutcome
    /// The handler's result when `outcome` is `.succeeded`; nil otherwise.
    public let result: JobResult?

    public init(lease: JobLease, outcome: JobOutcome, result: JobResult? = nil) {
        self.lease = lease
        self.outcome = outcome
        self.result = result
    }
}

/// What a handler's success produced, as bytes the queue does not read: the backend hands them to
/// whatever follows the job's moves, in the transaction that marks the job succeeded (a report's run
/// takes its issue count and page link from them, and its report the page's snapshot). Bounded by
/// contract: the worker holds it until the settle, a few hundred bytes to a few hundred kilobytes.
public struct JobResult: Sendable, Equatable {
    public let bytes: Data

    /// No bytes: nothing follows the job.
    public init(bytes: Data = Data()) { self.bytes = bytes }
}

/// What recording an outcome did to the job.
public enum SettleResult: Sendable, Equatable {
    /// The outcome was recorded; the job is now in this state.
    case applied(JobState)
    /// The lease was no longer held (expired and reclaimed, or re-leased): nothing changed.
    case leaseLost
}

/// A lease request: up to `limit` due jobs, in priority order, held for `leaseDuration`.
public struct LeaseRequest: Sendable {
    public var workerId: String
    public var limit: Int
    public var leaseDuration: Duration

    public init(workerId: String, limit: Int, leaseDuration: Duration) {
        self.workerId = workerId
        self.limit = limit
        self.leaseDuration = leaseDuration
    }
}

/// Counts by state and how far behind the queue is.
public struct QueueStats: Sendable, Codable, Equatable {
    public var available: Int
    /// Of the available jobs, those whose `runAt` is still in the future (scheduled or backing off).
    public var scheduled: Int
    public var running: Int
    public var succeeded: Int
    public var discarded: Int
    /// Seconds since the longest-waiting due job became due; 0 when none is due.
    public var oldestAvailableAgeSeconds: Double
    /// Fairness keys with at least one due job waiting.
    public var keysWaiting: Int
    /// Waiting jobs handed back without using an attempt, by the code of their deferral (e.g.
    /// a budget's code when the user's request budget at the destination was spent).
    public var deferred: [String: Int]

    public init(
        available: Int = 0, scheduled: Int = 0, running: Int = 0, succeeded: Int = 0, discarded: Int = 0,
        oldestAvailableAgeSeconds: Double = 0,
        keysWaiting: Int = 0, deferred: [String: Int] = [:]
    ) {
        self.keysWaiting = keysWaiting
        self.deferred = deferred
        self.available = available
        self.scheduled = scheduled
        self.running = running
        self.succeeded = succeeded
        self.discarded = discarded
        self.oldestAvailableAgeSeconds = oldestAvailableAgeSeconds
    }

    public func count(_ state: JobState) -> Int {
        switch state {
        case .available: available
        case .running: running
        case .succeeded: succeeded
        case .discarded: discarded
        }
    }
}

/// What retention keeps: finished jobs older than these are deleted by `prune`.
public struct RetentionPolicy: Sendable {
    public var succeeded: Duration
    public var discarded: Duration

    /// River's defaults: a day of history for successes, a week to inspect failures.
    public static let standard = RetentionPolicy(succeeded: .seconds(24 * 3600), discarded: .seconds(7 * 24 * 3600))

    package init(succeeded: Duration, discarded: Duration) {
        self.succeeded = succeeded
        self.discarded = discarded
    }
}

/// What an operator changed with `retry` or `discard`.
public enum AdminResult: Sendable, Equatable {
    case changed
    case notFound
    /// The job is in a state the action does not apply to.
    case notApplicable(JobState)
}

extension NewJob {
    /// Checks what every backend refuses at enqueue (the schemas refuse it too) and returns the
    /// payload as text.
    public func validatedPayload() throws -> String {
        guard (1...100).contains(kind.count) else { throw JobQueueError.invalidKind }
        guard fairnessKey.utf8.count <= 300 else {
            throw JobQueueError.invalidArgument("a fairness key is at most 300 bytes")
        }
        guard maxAttempts >= 1 else { throw JobQueueError.invalidArgument("maxAttempts must be at least 1") }
        guard uniqueKey?.isEmpty != true else { throw JobQueueError.invalidArgument("a unique key is not empty") }
        guard exclusiveKey.map({ (1...300).contains($0.utf8.count) }) != false else {
            throw JobQueueError.invalidArgument("an exclusive key is 1 to 300 bytes")
        }
        guard let text = String(data: payload, encoding: .utf8),
            (try? JSONSerialization.jsonObject(with: payload, options: [.fragmentsAllowed])) != nil
        else { throw JobQueueError.invalidPayload }
        return text
    }
}
