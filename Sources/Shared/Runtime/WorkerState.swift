import Synchronization

/// The worker's shared bookkeeping: leases held by running handlers, outcomes not yet written, and
/// whether it is stopping. Handlers, the lease loop, the heartbeat and the poller all touch it.
final class WorkerState: Sendable {
    private struct Inner {
        var inFlight: [Int64: JobLease] = [:]
        var finished: [SettledJob] = []
        var stopping = false
        var wakeAt: ContinuousClock.Instant?
        var leaseCalls = 0
        var leasedJobs = 0
    }

    private let inner = Mutex(Inner())

    var isStopping: Bool { inner.withLock { $0.stopping } }
    var inFlightCount: Int { inner.withLock { $0.inFlight.count } }
    var heldLeases: [JobLease] { inner.withLock { Array($0.inFlight.values) } }

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

    /// Leases and outcomes were written in one transaction; `leases` are now running.
    func started(_ leases: [JobLease]) {
        inner.withLock { state in
            state.leaseCalls += 1
            state.leasedJobs += leases.count
            for lease in leases { state.inFlight[lease.jobId] = lease }
        }
    }

    func finished(_ lease: JobLease, _ outcome: JobOutcome) {
        inner.withLock { state in
            state.inFlight.removeValue(forKey: lease.jobId)
            state.finished.append(SettledJob(lease: lease, outcome: outcome))
        }
    }

    /// Everything still to write at shutdown: finished outcomes, and leases of handlers that never
    /// finished, which are released (their attempt does not count).
    func drainForShutdown() -> [SettledJob] {
        inner.withLock { state in
            let released = state.inFlight.values.map { SettledJob(lease: $0, outcome: .released) }
            let all = state.finished + released.sorted { $0.lease.jobId < $1.lease.jobId }
            state.finished.removeAll()
            state.inFlight.removeAll()
            return all
        }
    }

    var counters: (transactions: Int, jobs: Int) { inner.withLock { ($0.leaseCalls, $0.leasedJobs) } }

    func setWakeAt(_ instant: ContinuousClock.Instant?) { inner.withLock { $0.wakeAt = instant } }

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
