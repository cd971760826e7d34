import Synchronization

/// The worker's shared bookkeeping: leases held by running handlers, outcomes not yet written, and
/// whether it is stopping. Handlers, the lease loop, the heartbeat and the poller all touch it.
///
/// Running handlers are keyed by their whole lease (job id *and* fencing token): a job re-leased to
/// this worker while an old handler of it still winds down is a different entry, so the old handler
/// finishing cannot take the new lease out of the heartbeat.
final class WorkerState: Sendable {
    private struct Inner {
        var inFlight: [JobLease: AsyncStream<Void>.Continuation] = [:]
        var finished: [SettledJob] = []
        var stopping = false
        var wakeAt: ContinuousClock.Instant?
        /// The last lease found fewer due jobs than it had room for.
        var waitingForWork = true
        var leaseCalls = 0
        var leasedJobs = 0
    }

    private let inner = Mutex(Inner())

    var isStopping: Bool { inner.withLock { $0.stopping } }
    var inFlightCount: Int { inner.withLock { $0.inFlight.count } }
    var heldLeases: [JobLease] { inner.withLock { Array($0.inFlight.keys) } }

    func beginStopping() { inner.withLock { $0.stopping = true } }

    /// Outcomes to write now and how many jobs to lease, given free slots.
    func takeWork(concurrency: Int, maxBatch: Int) -> (settling: [SettledJob], limit: Int, stopping: Bool) {
        inner.withLock { state in
            let settling = state.finished
            state.finished.removeAll(keepingCapacity: true)
            let free = concurrency - state.inFlight.count
            return (settling, state.stopping ? 0 : min(max(free, 0), maxBatch), state.stopping)
        }
    }

    /// A write failed: the outcomes were not recorded and must be tried again, never dropped.
    func putBack(_ settling: [SettledJob]) {
        inner.withLock { $0.finished.insert(contentsOf: settling, at: 0) }
    }

    /// Leases and outcomes were written in one transaction; `leases` are now running. Returns, per
    /// lease, a stream that ends when the heartbeat finds the lease lost (the handler is then cancelled).
    func started(_ leases: [JobLease]) -> [AsyncStream<Void>] {
        inner.withLock { state in
            state.leaseCalls += 1
            state.leasedJobs += leases.count
            return leases.map { lease in
                let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
                state.inFlight[lease] = continuation
                return stream
            }
        }
    }

    func finished(_ lease: JobLease, _ outcome: JobOutcome, result: JobResult? = nil) {
        inner.withLock { state in
            state.inFlight.removeValue(forKey: lease)?.finish()
            state.finished.append(SettledJob(lease: lease, outcome: outcome, result: result))
        }
    }

    /// The handler stopped because its lease was lost: nothing to record, the queue would refuse it.
    func abandoned(_ lease: JobLease) {
        inner.withLock { state in state.inFlight.removeValue(forKey: lease)?.finish() }
    }

    /// The heartbeat found these leases lost: their handlers are told at once.
    func leasesLost(_ leases: Set<JobLease>) {
        let continuations = inner.withLock { state in leases.compactMap { state.inFlight[$0] } }
        for continuation in continuations { continuation.finish() }
    }

    /// Everything still to write at shutdown: finished outcomes, and leases of handlers that never
    /// finished, which are released (their attempt does not count).
    func drainForShutdown() -> [SettledJob] {
        inner.withLock { state in
            let released = state.inFlight.keys.map { SettledJob(lease: $0, outcome: .released) }
            let all = state.finished + released.sorted { $0.lease.jobId < $1.lease.jobId }
            state.finished.removeAll()
            state.inFlight.removeAll()
            return all
        }
    }

    var counters: (transactions: Int, jobs: Int) { inner.withLock { ($0.leaseCalls, $0.leasedJobs) } }

    func setWakeAt(_ instant: ContinuousClock.Instant?) { inner.withLock { $0.wakeAt = instant } }

    /// True when this changed it.
    @discardableResult
    func setWaitingForWork(_ waiting: Bool) -> Bool {
        inner.withLock { state in
            defer { state.waitingForWork = waiting }
            return state.waitingForWork != waiting
        }
    }
    var isWaitingForWork: Bool { inner.withLock { $0.waitingForWork } }

    /// When the poller must look next at the latest: the next delayed job's due time.
    var nextTimer: ContinuousClock.Instant? { inner.withLock { $0.wakeAt } }

    /// True when the poller should wake the lease loop even without a database change: a delayed job
    /// came due, or the worker is stopping and watches its grace deadline.
    func timerFired(now: ContinuousClock.Instant) -> Bool {
        inner.withLock { state in
            if state.stopping { return true }
            guard let wakeAt = state.wakeAt, wakeAt <= now else { return false }
            state.wakeAt = nil
            return true
        }
    }
}

/// A level-triggered wake-up: many signals before one wait count as one.
final class WakeSignal: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() { continuation.yield() }
}
