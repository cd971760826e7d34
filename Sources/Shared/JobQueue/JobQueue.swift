public import Foundation

/// A durable job queue with at-least-once delivery, leases and fencing (docs/design-notes.md §4).
///
/// Every change to a running job is guarded by its lease (`id`, state `running`, fencing token), so a
/// worker that lost its lease changes nothing. `SQLiteJobQueue` is the implementation for one host; a
/// PostgreSQL one can follow behind the same protocol and the same conformance tests.
public protocol JobQueue: Sendable {
    /// Enqueues jobs atomically (all or none). A job whose unique key is held by a waiting or running
    /// job is not created; its result names the existing job.
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult]

    /// Records the outcomes in `settling`, then leases up to `request.limit` due jobs, all in one
    /// transaction: highest priority first; within a priority, fairness keys in turn (each up to the
    /// policy's cap of running jobs), a key's jobs earliest `runAt` first. When fewer than `limit` were
    /// due, `nextDue` says when the earliest job not yet due at the lease's time becomes due (a due job
    /// left waiting for its key's turn or cap is not counted: a finishing job wakes the workers).
    func lease(_ request: LeaseRequest, settling: [SettledJob]) async throws -> (
        jobs: [LeasedJob], settled: [SettleResult], nextDue: Date?
    )

    /// Records outcomes in one transaction. Results are in the order of `settled`.
    func settle(_ settled: [SettledJob]) async throws -> [SettleResult]

    /// Extends the leases still held by `leaseDuration` from now; returns the leases that were lost.
    func heartbeat(_ leases: [JobLease], leaseDuration: Duration) async throws -> Set<JobLease>

    /// Whether `lease` is still held and unexpired: checked before each upstream write, so a worker
    /// that lost its lease (paused, cut off) cannot write over the current run's work.
    func isHeld(_ lease: JobLease) async throws -> Bool

    /// Returns jobs whose lease expired (their worker died or hung) to `available`, or to `discarded`
    /// when their attempts are used up. Returns how many jobs it changed.
    func reclaimExpiredLeases() async throws -> Int

    /// Deletes finished jobs older than the policy keeps. Returns how many it deleted.
    func prune(_ policy: RetentionPolicy) async throws -> Int

    func stats() async throws -> QueueStats

    /// The jobs in `state`, oldest first (payloads are not returned).
    func list(state: JobState, limit: Int) async throws -> [JobRecord]

    func job(id: Int64) async throws -> JobRecord?

    /// Operator action: makes a discarded (or waiting) job available now, with a fresh set of attempts.
    func retry(jobId: Int64) async throws -> AdminResult

    /// Operator action: discards a waiting or running job (a running job's worker then loses its lease).
    func discard(jobId: Int64) async throws -> AdminResult

    /// When the earliest waiting job that is not yet due becomes due, if any.
    func nextDueDate() async throws -> Date?

    /// Promotes jobs that have been due for longer than the fairness policy's aging time to its aged
    /// priority, so no priority starves. Returns how many it promoted.
    func promoteAgedJobs() async throws -> Int

    /// Tells whether anything was committed to the queue, by any process, since the last call.
    func makeChangeObserver() throws -> any JobQueueChangeObserver

    /// In-process wake-ups after each enqueue.
    var notifier: QueueNotifier { get }

    /// A short reason ("disk_full", "locked", …) when `error`, thrown by this queue, means its storage
    /// cannot be used right now and will recover; nil for anything else. The runtime then
    /// backs off and keeps its jobs instead of logging a failure per attempt.
    func storageUnavailableReason(_ error: any Error) -> String?
}

/// How an idle worker learns that another process committed: `hasChanged` is cheap enough to call
/// often; `activity`, when the backend has one, yields when a commit may have happened, so the worker
/// checks then instead of polling fast.
public protocol JobQueueChangeObserver: Sendable {
    func hasChanged() async throws -> Bool
    var activity: AsyncStream<Void>? { get }
    /// Whether the worker wants `activity` now. A busy worker, whose own handlers wake it, turns the
    /// reports off: watching a busy database costs a file-system event for every write. Turning them
    /// on reports once at once, so a commit made while they were off is not missed.
    func setWatching(_ watching: Bool)
    /// The observer's own long-running work, if it has any (PostgreSQL's LISTEN connection): the
    /// worker runs it beside its other background loops and cancels it at shutdown.
    func run() async throws
}

extension JobQueueChangeObserver {
    public func setWatching(_ watching: Bool) {}
    public func run() async throws {}
}

extension JobQueue {
    package func enqueue(_ job: NewJob) async throws -> EnqueueResult {
        try await enqueue([job])[0]
    }

    public func lease(_ request: LeaseRequest) async throws -> [LeasedJob] {
        try await lease(request, settling: []).jobs
    }

    package func complete(_ lease: JobLease) async throws -> SettleResult {
        try await settle([SettledJob(lease: lease, outcome: .succeeded)])[0]
    }

    func fail(_ lease: JobLease, _ failure: JobFailure) async throws -> SettleResult {
        try await settle([SettledJob(lease: lease, outcome: .failed(failure))])[0]
    }

    func release(_ lease: JobLease) async throws -> SettleResult {
        try await settle([SettledJob(lease: lease, outcome: .released)])[0]
    }

    func heartbeat(_ lease: JobLease, leaseDuration: Duration) async throws -> Bool {
        try await heartbeat([lease], leaseDuration: leaseDuration).isEmpty
    }
}
