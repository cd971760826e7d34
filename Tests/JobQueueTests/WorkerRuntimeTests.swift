import Foundation
import Logging
import QueueTesting
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import JobQueue
@testable import SQLiteBackend

/// Counts how often each job ran; fails or blocks on request.
final class RecordingHandler: JobHandler {
    let kind: String
    let sleep: Duration
    private let runs = Mutex<[Int64: Int]>([:])

    init(kind: String = "record", sleep: Duration = .zero) {
        self.kind = kind
        self.sleep = sleep
    }

    func handle(_ job: JobContext) async throws -> JobResult {
        runs.withLock { $0[job.id, default: 0] += 1 }
        if sleep > .zero { try await Task.sleep(for: sleep) }
        return JobResult()
    }

    var counts: [Int64: Int] { runs.withLock { $0 } }
}

@Suite("Worker runtime (in process, real SQLite file)")
struct WorkerRuntimeTests {
    @Test func everyJobRunsOnceWithConcurrentHandlers() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let handler = RecordingHandler(sleep: .milliseconds(1))
        let ids = try await fixture.queue.enqueue((0..<300).map { _ in rawJob("record") }).map(\.jobId)
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]),
            configuration: WorkerConfiguration(workerId: "w1", concurrency: 8, maxLeaseBatch: 4), logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            #expect(try await waitUntil(timeout: .seconds(60)) { try await fixture.queue.stats().succeeded == 300 })
        }
        #expect(handler.counts == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
        #expect(try await fixture.queue.stats() == QueueStats(succeeded: 300))
    }

    @Test func aJobEnqueuedInProcessWakesAnIdleWorker() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let handler = RecordingHandler()
        // Polling is slowed to a minute, so only the in-process notifier can wake the worker in time.
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]),
            configuration: WorkerConfiguration(workerId: "w1", pollInterval: .seconds(60)), logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            for round in 1...3 {
                _ = try await fixture.queue.enqueue(rawJob("record"))
                #expect(try await waitUntil(timeout: .seconds(20)) { handler.counts.count == round })
            }
        }
    }

    @Test func unknownKindsAndBadPayloadsAreDiscardedAndTheWorkerGoesOn() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let unknown = try await fixture.queue.enqueue(rawJob("no-such-kind")).jobId
        let badPayload = try await fixture.queue.enqueue(rawJob(DiagnosticJob.kind, payload: #"{"sleepMs":"soon"}"#))
            .jobId
        let good = try await fixture.queue.enqueue((0..<5).map { _ in try diagnostic() }).map(\.jobId)
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([DiagnosticJob()]),
            configuration: WorkerConfiguration(workerId: "w1"), logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            #expect(
                try await waitUntil(timeout: .seconds(30)) {
                    let stats = try await fixture.queue.stats()
                    return stats.succeeded == 5 && stats.discarded == 2
                })
            // Still alive: a job enqueued afterwards runs too.
            let later = try await fixture.queue.enqueue(try diagnostic()).jobId
            #expect(try await waitUntil(timeout: .seconds(30)) { try await fixture.row(later).state == .succeeded })
        }
        let unknownRow = try await fixture.row(unknown)
        #expect(unknownRow.state == .discarded)
        #expect(unknownRow.attempt == 1)
        #expect(unknownRow.lastError == "unknown_job_kind: this worker has no handler for job kind 'no-such-kind'")
        #expect(try await fixture.row(badPayload).lastError?.hasPrefix("invalid_payload:") == true)
        for id in good { #expect(try await fixture.row(id).state == .succeeded) }
    }

    @Test func retryableFailuresRunAgainAfterTheirBackoff() async throws {
        let fixture = try QueueFixture(
            retryStrategy: .exponentialJitter(base: .milliseconds(50), maxBackoff: .milliseconds(200)), realClock: true)
        defer { fixture.remove() }
        let directory = fixture.directory
        let record = directory.file("record.txt")
        let id = try await fixture.queue.enqueue(try diagnostic(.init(failTimes: 3, recordFile: record))).jobId
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([DiagnosticJob()]),
            configuration: WorkerConfiguration(workerId: "w-retry"), logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            #expect(try await waitUntil(timeout: .seconds(30)) { try await fixture.row(id).state == .succeeded })
        }
        #expect(try await fixture.row(id).attempt == 4)
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "\(id) 4 w-retry\n")
    }

    @Test func heartbeatsKeepALongJobFromBeingTakenAway() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let handler = RecordingHandler(sleep: .milliseconds(3500))
        let id = try await fixture.queue.enqueue(rawJob("record")).jobId
        // Two workers share the queue; the job outlives its 1.2 s lease almost three times over.
        // (A lease much shorter than this could really expire when the whole suite starves the cores.)
        let configuration = { (name: String) in
            WorkerConfiguration(workerId: name, leaseDuration: .milliseconds(1200), reclaimInterval: .milliseconds(50))
        }
        let first = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]), configuration: configuration("w1"),
            logger: silentLogger)
        let second = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]), configuration: configuration("w2"),
            logger: silentLogger)
        try await withRuntime(first) { () async throws in
            try await withRuntime(second) { () async throws in
                #expect(try await waitUntil(timeout: .seconds(30)) { try await fixture.row(id).state == .succeeded })
            }
        }
        #expect(handler.counts == [id: 1])
        #expect(try await fixture.row(id).attempt == 1)
    }

    @Test func gracefulShutdownFinishesShortJobsAndReleasesTheRest() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let quick = RecordingHandler(kind: "quick", sleep: .milliseconds(200))
        let stuck = RecordingHandler(kind: "stuck", sleep: .seconds(3600))
        let quickIds = try await fixture.queue.enqueue((0..<3).map { _ in rawJob("quick") }).map(\.jobId)
        let stuckIds = try await fixture.queue.enqueue((0..<2).map { _ in rawJob("stuck") }).map(\.jobId)
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([quick, stuck]),
            configuration: WorkerConfiguration(workerId: "w1", concurrency: 5, gracePeriod: .seconds(2)),
            logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            #expect(try await waitUntil(timeout: .seconds(30)) { stuck.counts.count == 2 && quick.counts.count == 3 })
        }
        for id in quickIds {
            let row = try await fixture.row(id)
            #expect(row.state == .succeeded && row.attempt == 1)
        }
        for id in stuckIds {
            let row = try await fixture.row(id)
            #expect(row.state == .available && row.attempt == 0 && row.workerId == nil, "released, attempt not counted")
        }
    }

    /// A handler that runs until cancelled, recording that it was.
    final class HangingHandler: JobHandler {
        let kind = "hang"
        private let state = Mutex<(started: Int, cancelled: Int)>((0, 0))
        var started: Int { state.withLock { $0.started } }
        var cancelled: Int { state.withLock { $0.cancelled } }

        func handle(_ job: JobContext) async throws -> JobResult {
            state.withLock { $0.started += 1 }
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                state.withLock { $0.cancelled += 1 }
                throw error
            }
            return JobResult()
        }
    }

    @Test func aHandlerWhoseLeaseIsLostIsCancelledAtOnceAndRecordsNothing() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        let handler = HangingHandler()
        let id = try await fixture.queue.enqueue(rawJob("hang")).jobId
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]),
            configuration: WorkerConfiguration(
                workerId: "w1", leaseDuration: .seconds(3), heartbeatInterval: .milliseconds(100)), logger: silentLogger
        )
        try await withRuntime(runtime) { () async throws in
            #expect(try await waitUntil(timeout: .seconds(10)) { handler.started == 1 })
            // An operator discards the running job: its token moves on, so the worker's lease is gone.
            #expect(try await fixture.queue.discard(jobId: id) == .changed)
            #expect(
                try await waitUntil(timeout: .seconds(5)) { handler.cancelled == 1 },
                "the heartbeat cancelled the handler")
        }
        let row = try await fixture.row(id)
        #expect(
            row.state == .discarded && row.lastError == "discarded_by_operator",
            "the stopped handler recorded no outcome")
    }
}
