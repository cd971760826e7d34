import Foundation
public import Logging
import ReportsSupport
public import ServiceLifecycle
import Tracing

/// Hears about each finished attempt; the worker's metrics implement it.
public protocol WorkerObserver: Sendable {
    func attemptFinished(kind: String, outcome: JobOutcome, duration: Duration)
    /// A queue write failed because the store cannot be used now (a full disk, a lock held too long).
    func storageUnavailable(reason: String)
}

extension WorkerObserver {
    func storageUnavailable(reason: String) {}
}

/// Leases jobs and runs their handlers: the body of `worker run`.
///
/// One lease loop settles finished jobs and leases new ones in a single transaction per turn, so the
/// write lock is taken once per batch, not once per job. It sleeps on a wake signal fed by handlers
/// finishing, enqueues in this process (`QueueNotifier`), commits by other processes (`PRAGMA
/// data_version`, checked when the file system reports a write to the database and every
/// `pollInterval` as a fallback) and the due time of the next delayed job. A maintenance loop
/// heartbeats held leases, reclaims expired ones, promotes aged jobs and prunes old ones.
///
/// On graceful shutdown (SIGTERM) it stops leasing, lets running handlers finish within `gracePeriod`,
/// cancels the rest and releases their jobs without counting the attempt, then returns.
public struct WorkerRuntime: Service {
    public let queue: any JobQueue
    let registry: JobRegistry
    let configuration: WorkerConfiguration
    public let logger: Logger
    /// Told about every finished attempt (metrics).
    let observer: (any WorkerObserver)?

    private let state = WorkerState()
    private let wake = WakeSignal()
    /// A full disk is logged once a minute, not at every retry.
    private let storageLog = ThrottledLog()

    public init(
        queue: any JobQueue, registry: JobRegistry, configuration: WorkerConfiguration, logger: Logger,
        observer: (any WorkerObserver)? = nil
    ) {
        self.observer = observer
        self.queue = queue
        self.registry = registry
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerId)"
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await runUntilStopped()
        } onGracefulShutdown: { [state, wake] in
            state.beginStopping()
            wake.signal()
        }
    }

    private func runUntilStopped() async throws {
        let observer = try queue.makeChangeObserver()
        let observation = queue.notifier.observe { [wake] in wake.signal() }
        defer { queue.notifier.removeObserver(observation) }
        logger.info(
            "worker started",
            metadata: [
                "concurrency": "\(configuration.concurrency)", "kinds": "\(registry.kinds.joined(separator: ","))",
            ])

        try await withThrowingTaskGroup(of: Void.self) { background in
            background.addTask { try await pollForChanges(observer) }
            background.addTask { try await observer.run() }
            if let activity = observer.activity {
                background.addTask { try await watchForChanges(observer, activity) }
            }
            background.addTask { try await maintain() }

            var wakeups = wake.stream.makeAsyncIterator()
            await withDiscardingTaskGroup { handlers in
                await leaseLoop(handlers: &handlers, wakeups: &wakeups, observer: observer)
                await awaitGracePeriod(wakeups: &wakeups)
                if state.inFlightCount > 0 {
                    logger.warning(
                        "grace period over; cancelling running handlers",
                        metadata: ["running": "\(state.inFlightCount)"])
                    handlers.cancelAll()
                }
            }
            try await settleAtShutdown()
            background.cancelAll()
        }
        let counters = state.counters
        logger.info(
            "worker stopped",
            metadata: ["leased_jobs": "\(counters.jobs)", "lease_transactions": "\(counters.transactions)"])
    }

    // MARK: Leasing

    private func leaseLoop(
        handlers: inout DiscardingTaskGroup, wakeups: inout AsyncStream<Void>.Iterator,
        observer: any JobQueueChangeObserver
    ) async {
        var failures = 0
        while !Task.isCancelled {
            let work = state.takeWork(concurrency: configuration.concurrency, maxBatch: configuration.maxLeaseBatch)
            if work.stopping {
                state.putBack(work.settling)
                return
            }
            if work.limit > 0 || !work.settling.isEmpty {
                do {
                    let request = LeaseRequest(
                        workerId: configuration.workerId, limit: work.limit, leaseDuration: configuration.leaseDuration)
                    let leasedAt = DefaultTracerClock.now
                    let (jobs, results, nextDue) = try await queue.lease(request, settling: work.settling)
                    failures = 0
                    logSettled(work.settling, results)
                    let watches = state.started(jobs.map(\.lease))
                    for (job, leaseLost) in zip(jobs, watches) {
                        handlers.addTask { await execute(job, leasedAt: leasedAt, leaseLost: leaseLost) }
                    }
                    // Only a worker whose last lease came back short waits for other processes' commits;
                    // one that filled its batch will lease again as its handlers finish.
                    if work.limit > 0 {
                        let waiting = jobs.count < work.limit
                        if state.setWaitingForWork(waiting) { observer.setWatching(waiting) }
                    }
                    if work.limit > 0 && jobs.count == work.limit { continue }
                    if work.limit > 0 {
                        // Nothing more is due now; sleep until the next delayed job unless woken earlier.
                        state.setWakeAt(
                            nextDue.map {
                                ContinuousClock.now + .milliseconds(max(Int64($0.timeIntervalSinceNow * 1000), 0))
                            })
                    }
                } catch {
                    // Finished jobs' outcomes are kept for the next try; leased jobs stay leased and
                    // heartbeated. Back off (250 ms doubling to 5 s) so a full disk is not hammered.
                    state.putBack(work.settling)
                    failures += 1
                    noteQueueFailure(error, doing: "lease")
                    try? await Task.sleep(for: .milliseconds(min(250 << min(failures - 1, 5), 5_000)))
                    continue
                }
            }
            if await wakeups.next() == nil { return }
        }
    }

    /// Runs the job in its trace (the enqueuer's, when the job carries one; a new one otherwise): a
    /// span for the lease, from `leasedAt` to now, and the handler's span under it.
    private func execute(_ job: LeasedJob, leasedAt: DefaultTracerClock.Instant, leaseLost: AsyncStream<Void>) async {
        let leaseSpan = startSpan(
            "lease \(job.kind)", context: JobTrace.context(traceParent: job.traceParent), ofKind: .consumer,
            at: leasedAt)
        leaseSpan.updateAttributes { attributes in
            attributes["job.id"] = job.id
            attributes["job.kind"] = job.kind
            attributes["job.attempt"] = job.lease.attempt
            attributes["worker.id"] = configuration.workerId
        }
        leaseSpan.end()
        await withSpan(job.kind, context: leaseSpan.context, ofKind: .consumer) { span in
            span.attributes["job.id"] = job.id
            span.attributes["job.attempt"] = job.lease.attempt
            let outcome = await execute(job, leaseLost: leaseLost)
            span.attributes["job.outcome"] = outcome.map(Self.traceWord) ?? "stopped"
            if case .failed = outcome { span.setStatus(.init(code: .error)) }
        }
    }

    /// The outcome as a fixed word and the failure's or deferral's code (never its message).
    private static func traceWord(_ outcome: JobOutcome) -> String {
        switch outcome {
        case .succeeded: "succeeded"
        case .failed(let failure): "failed:\(failure.code)"
        case .released: "released"
        case .deferred(let deferral): "deferred:\(deferral.code)"
        }
    }

    /// The attempt's outcome, or nil when it stopped without one (lease lost, cancelled at shutdown).
    @discardableResult
    private func execute(_ job: LeasedJob, leaseLost: AsyncStream<Void>) async -> JobOutcome? {
        let started = ContinuousClock.now
        let lease = job.lease
        let context = JobContext(
            id: job.id, kind: job.kind, payload: job.payload, attempt: lease.attempt,
            maxAttempts: lease.maxAttempts, workerId: configuration.workerId, logger: logger,
            lease: lease, claim: job.claim, leaseCheck: { [queue] in try await queue.isHeld(lease) })
        let outcome: JobOutcome
        var result: JobResult?
        if let handler = registry.handler(for: job.kind) {
            do {
                result = try await Self.run(handler, context, cancelledWhen: leaseLost)
                outcome = .succeeded
            } catch {
                // Cancelled at the end of the grace period: the lease stays held and is released.
                if Task.isCancelled { return nil }
                if error is LeaseLostError {
                    // Another worker owns the job now; this attempt stops here and records nothing.
                    logger.warning("handler stopped: lease lost", metadata: ["job": "\(job.id)"])
                    state.abandoned(lease)
                    wake.signal()
                    return nil
                }
                if let deferral = error as? JobDeferral {
                    outcome = .deferred(deferral)
                } else if let failure = error as? JobFailure {
                    outcome = .failed(failure)
                } else {
                    outcome = .failed(.retryable("unexpected_error", "the handler threw \(Self.describe(error))"))
                }
            }
        } else {
            outcome = .failed(.permanent("unknown_job_kind", "this worker has no handler for job kind '\(job.kind)'"))
        }
        state.finished(job.lease, outcome, result: result)
        wake.signal()
        observer?.attemptFinished(kind: job.kind, outcome: outcome, duration: ContinuousClock.now - started)
        return outcome
    }

    /// Runs the handler until it returns or its lease is found lost, whichever comes first; in the
    /// second case the handler's task is cancelled at once and `LeaseLostError` is thrown.
    private static func run(
        _ handler: any JobHandler, _ context: JobContext, cancelledWhen leaseLost: AsyncStream<Void>
    ) async throws -> JobResult {
        try await withThrowingTaskGroup(of: JobResult?.self) { group in
            group.addTask {
                try await handler.handle(context)
            }
            group.addTask {
                for await _ in leaseLost {}
                // The stream ends either because the lease was lost or because this task was cancelled
                // (shutdown): then the handler is cancelled too and its own outcome is what counts.
                if !Task.isCancelled { throw LeaseLostError() }
                return nil
            }
            while let finished = try await group.next() {
                if let result = finished {
                    group.cancelAll()
                    return result
                }
            }
            throw CancellationError()
        }
    }

    // MARK: Shutdown

    private func awaitGracePeriod(wakeups: inout AsyncStream<Void>.Iterator) async {
        guard state.inFlightCount > 0 else { return }
        logger.info("stopping: waiting for running handlers", metadata: ["running": "\(state.inFlightCount)"])
        let deadline = ContinuousClock.now + configuration.gracePeriod
        while state.inFlightCount > 0 && ContinuousClock.now < deadline {
            if await wakeups.next() == nil { return }
            // Record outcomes as they come, so a crash later in the grace period does not repeat them.
            let finished = state.takeWork(concurrency: configuration.concurrency, maxBatch: 0).settling
            guard !finished.isEmpty else { continue }
            do {
                logSettled(finished, try await queue.settle(finished))
            } catch {
                state.putBack(finished)
            }
        }
    }

    private func settleAtShutdown() async throws {
        let remaining = state.drainForShutdown()
        guard !remaining.isEmpty else { return }
        var attempt = 0
        while true {
            do {
                let results = try await queue.settle(remaining)
                logSettled(remaining, results)
                let released = remaining.filter { $0.outcome == .released }.count
                logger.info(
                    "settled at shutdown",
                    metadata: ["finished": "\(remaining.count - released)", "released": "\(released)"])
                return
            } catch {
                attempt += 1
                // Unwritten outcomes are not lost: the leases expire and the jobs run again.
                if attempt >= 5 { throw error }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    // MARK: Background loops

    /// The fallback poll, and the timer for the next delayed job (it sleeps no longer than until then).
    private func pollForChanges(_ observer: any JobQueueChangeObserver) async throws {
        while true {
            var pause = configuration.pollInterval
            if let timer = state.nextTimer { pause = max(min(pause, timer - .now), .milliseconds(1)) }
            try await Task.sleep(for: pause)
            let changed = (try? await observer.hasChanged()) ?? true
            if changed || state.timerFired(now: .now) { wake.signal() }
        }
    }

    /// Checks for a commit whenever the file system reports a write to the database, while the worker
    /// waits for work (its last lease came back short), at most once every `minimumCheckSpacing`: an
    /// idle worker reacts to the first write at once; a busy one, whose handlers wake it anyway, does
    /// not turn every commit of a busy queue into a check and a lease attempt on the write lock.
    private func watchForChanges(_ observer: any JobQueueChangeObserver, _ activity: AsyncStream<Void>) async throws {
        for await _ in activity {
            guard state.isWaitingForWork else { continue }
            if (try? await observer.hasChanged()) ?? true { wake.signal() }
            try await Task.sleep(for: Self.minimumCheckSpacing)
        }
    }

    static let minimumCheckSpacing: Duration = .milliseconds(2)

    private func maintain() async throws {
        let clock = ContinuousClock()
        var nextReclaim = clock.now
        var nextPrune = clock.now
        var nextAging = clock.now
        let tick = min(configuration.heartbeatInterval, configuration.reclaimInterval)
        while true {
            try await Task.sleep(for: tick)
            let held = state.heldLeases
            do {
                let lost = try await queue.heartbeat(held, leaseDuration: configuration.leaseDuration)
                if !lost.isEmpty {
                    // Their handlers are cancelled at once; the queue would refuse their outcomes anyway.
                    state.leasesLost(lost)
                    logger.warning("leases lost", metadata: ["jobs": "\(lost.map(\.jobId).sorted())"])
                }
                if clock.now >= nextReclaim {
                    nextReclaim = clock.now + configuration.reclaimInterval
                    let reclaimed = try await queue.reclaimExpiredLeases()
                    if reclaimed > 0 { logger.notice("reclaimed expired leases", metadata: ["jobs": "\(reclaimed)"]) }
                }
                if clock.now >= nextAging {
                    nextAging = clock.now + configuration.agingInterval
                    let promoted = try await queue.promoteAgedJobs()
                    if promoted > 0 { logger.info("promoted long-waiting jobs", metadata: ["jobs": "\(promoted)"]) }
                }
                if clock.now >= nextPrune {
                    nextPrune = clock.now + configuration.pruneInterval
                    let pruned = try await queue.prune(configuration.retention)
                    if pruned > 0 { logger.info("pruned finished jobs", metadata: ["jobs": "\(pruned)"]) }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                noteQueueFailure(error, doing: "maintenance")
            }
        }
    }

    /// A store that cannot be used now is counted and logged once a minute; anything else
    /// is logged every time.
    private func noteQueueFailure(_ error: any Error, doing what: String) {
        guard let reason = queue.storageUnavailableReason(error) else {
            logger.error("queue \(what) failed; retrying", metadata: ["error": "\(Self.describe(error))"])
            return
        }
        self.observer?.storageUnavailable(reason: reason)
        if let suppressed = storageLog.admit(reason) {
            logger.error(
                "storage unavailable; backing off",
                metadata: ["reason": "\(reason)", "doing": "\(what)", "suppressed_since_last": "\(suppressed)"])
        }
    }

    private func logSettled(_ settled: [SettledJob], _ results: [SettleResult]) {
        for (item, result) in zip(settled, results) {
            switch (item.outcome, result) {
            case (_, .leaseLost):
                logger.warning("outcome refused: lease lost", metadata: ["job": "\(item.lease.jobId)"])
            case (.failed(let failure), .applied(let newState)):
                logger.warning(
                    "job failed",
                    metadata: [
                        "job": "\(item.lease.jobId)", "attempt": "\(item.lease.attempt)",
                        "code": "\(failure.code)", "error": "\(failure.message)", "state": "\(newState.rawValue)",
                    ])
            default:
                break
            }
        }
    }

    /// Errors are described by what we control: our own error types by message, others by type name,
    /// since a foreign error's text may carry data we must not log.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as JobFailure: error.description
        case let error as JobQueueError: error.message
        case let error as any OperatorMessageError: error.message
        default: String(describing: type(of: error))
        }
    }
}
