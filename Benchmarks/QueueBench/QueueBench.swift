import ArgumentParser
import Foundation
import GRDB
import JobQueue
import Logging
import PostgresBackend
import ReportsSupport
import SQLiteBackend
import ServiceLifecycle
import Synchronization

/// Measures the queue on this machine: enqueue rate, drain rate of no-op jobs with 1, 2 and 4 worker
/// processes, pickup latency on an idle queue, and a baseline running the same SQL statements through
/// the bare SQLite C API in one process, so the drain rate reads as a ratio.
@main
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-bench", abstract: "Benchmarks the SQLite job queue.")

    @Option(help: "Folder holding the release `worker` binary.") var binDir = ".build/release"
    @Option(help: "Scratch folder for the benchmark databases.") var dataDir = "bench-data"
    @Option(help: "No-op jobs per drain run.") var jobs = 100_000
    @Option(help: "Jobs for the single-enqueue measurement.") var enqueueJobs = 20_000
    @Option(help: "Handlers per worker process in the drain runs.") var concurrency = 64
    @Option(help: "Jobs leased per statement (the worker's --lease-batch and the baseline's batch).") var batch = 64
    @Option(help: "Pickup-latency samples.") var latencySamples = 300
    @Option(help: "Worker process counts for the drain runs.") var processes: [Int] = [1, 2, 4]
    @Option(help: "Runs per measurement; the median is reported, with the range.") var repeats = 3
    @Option(
        help:
            "Fairness keys of the drain jobs, one drain series each: 0 = no key (the queue before fairness keys), 1 = one user, 1000 = a thousand users."
    )
    var drainKeys: [Int] = [0, 1, 1000]
    @Option(
        help:
            "The workers' cap on running jobs per key (REPORTS_QUEUE_MAX_RUNNING_PER_KEY) in the drains; high, so the drain measures the fair lease's cost, not the cap."
    )
    var keyCap = 1024
    @Option(
        help:
            "Also measure the PostgreSQL queue on this server (a postgres:// URL of a database the bench may empty); needs pgbench."
    )
    var postgresURL: String?
    @Flag(help: "Skip the SQLite series (with --postgres-url).") var postgresOnly = false
    @Option(
        help:
            "Handlers per worker process in the PostgreSQL drains, one series each: the SQLite series' value, and twice the batch so a lease (a few ms of round trips) can be in flight while a full batch runs."
    )
    var postgresConcurrency: [Int] = [64, 128]

    func run() async throws {
        try? FileManager.default.removeItem(atPath: dataDir)
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        print(
            "queue-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(jobs) no-op jobs per drain, batch \(batch), concurrency \(concurrency)"
        )

        if let postgresURL {
            let settings = try PostgresSettings(url: postgresURL, environment: ProcessInfo.processInfo.environment)
            if postgresOnly {
                try await PostgresSeries(bench: self, url: postgresURL, settings: settings).run()
                return
            }
        }
        try await runSQLite()
        if let postgresURL {
            let settings = try PostgresSettings(url: postgresURL, environment: ProcessInfo.processInfo.environment)
            try await PostgresSeries(bench: self, url: postgresURL, settings: settings).run()
        }
    }

    func runSQLite() async throws {
        var single: [Double] = []
        var batched: [Double] = []
        for _ in 0..<repeats {
            let enqueue = try await measureEnqueue()
            single.append(enqueue.single)
            batched.append(enqueue.batched)
        }
        print("enqueue, one job per transaction:   \(Rates(single))")
        print("enqueue, 1000 jobs per transaction: \(Rates(batched))")

        let baseline = Rates(
            try (0..<repeats).map { run in
                try CBaseline.drain(path: try freshDatabase("baseline-\(run)"), jobs: jobs, batch: batch)
            })
        print("baseline (bare C API, 1 process):   \(baseline)")

        for keys in drainKeys {
            for count in processes {
                var rates: [Double] = []
                for run in 0..<repeats { rates.append(try await measureDrain(processes: count, run: run, keys: keys)) }
                let drain = Rates(rates)
                let label = keys == 0 ? "no key" : keys == 1 ? "1 key" : "\(keys) keys"
                print(
                    "drain, \(count) worker process(es), \(label.padding(toLength: 9, withPad: " ", startingAt: 0)) \(drain)  = \(String(format: "%.0f", drain.median / baseline.median * 100))% of baseline"
                )
            }
        }

        let inProcess = try await measureInProcessLatency()
        print("pickup latency, same process:  \(inProcess.summary)")
        let crossProcess = try await measureCrossProcessLatency()
        print("pickup latency, other process: \(crossProcess.summary)")
    }

    // MARK: Enqueue

    func measureEnqueue() async throws -> (single: Double, batched: Double) {
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: try freshDatabase("enqueue")))
        let job = try NewJob(kind: DiagnosticJob.kind, parameters: DiagnosticJob.Parameters())
        let start = ContinuousClock.now
        for _ in 0..<enqueueJobs { _ = try await queue.enqueue(job) }
        let single = Double(enqueueJobs) / (ContinuousClock.now - start).timeInterval

        let batchedJobs = enqueueJobs * 5
        let batchStart = ContinuousClock.now
        for _ in 0..<(batchedJobs / 1000) { _ = try await queue.enqueue(Array(repeating: job, count: 1000)) }
        let batched = Double(batchedJobs) / (ContinuousClock.now - batchStart).timeInterval
        return (single, batched)
    }

    // MARK: Drain

    /// Jobs are enqueued with a run-at two seconds ahead, the workers start and go idle, and the drain
    /// is timed from that run-at to the last job's finish time as the database recorded it.
    func measureDrain(processes count: Int, run: Int, keys: Int) async throws -> Double {
        let path = try freshDatabase("drain-\(count)-\(run)-\(keys)")
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: path))
        let runAt = Date().addingTimeInterval(2 + Double(jobs) / 100_000)
        try await enqueueNoOps(queue, count: jobs, runAt: runAt, keys: keys)
        let startedAt = Timestamp.milliseconds(runAt)
        var workers: [Process] = []
        defer {
            for worker in workers {
                worker.terminate()
                worker.waitUntilExit()
            }
        }
        for index in 0..<count {
            workers.append(try startWorker(path: path, id: "bench-\(count)-\(index)"))
        }
        if Date() >= runAt { throw ValidationError("the workers started after the jobs came due; raise the lead time") }
        while true {
            try await Task.sleep(for: .milliseconds(50))
            // Two index probes, not a count: the poll must not steal a core from the workers.
            let pending = try await queue.database.pool.read { db in
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'available')
                            OR EXISTS (SELECT 1 FROM jobs WHERE state = 'running')
                        """) ?? true
            }
            if !pending { break }
            if workers.contains(where: { !$0.isRunning }) { throw ValidationError("a worker exited during the drain") }
        }
        let (finished, succeeded) = try await queue.database.pool.read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT max(finished_at) FROM jobs") ?? 0,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'succeeded'") ?? 0
            )
        }
        guard succeeded == jobs else { throw ValidationError("only \(succeeded) of \(jobs) jobs succeeded") }
        return Double(jobs) / (Double(finished - startedAt) / 1000)
    }

    /// `keys` > 0 spreads the jobs over that many fairness keys, round robin.
    func enqueueNoOps(_ queue: any JobQueue, count: Int, runAt: Date?, keys: Int = 0) async throws {
        let job = try NewJob(kind: DiagnosticJob.kind, parameters: DiagnosticJob.Parameters(), runAt: runAt)
        var remaining = count
        var index = 0
        while remaining > 0 {
            let size = min(remaining, 5000)
            let batch = (0..<size).map { offset -> NewJob in
                var keyed = job
                if keys > 0 { keyed.fairnessKey = "ms:user-\((index + offset) % keys)" }
                return keyed
            }
            _ = try await queue.enqueue(batch)
            index += size
            remaining -= size
        }
    }

    func startWorker(path: String, id: String, concurrency: Int? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binDir + "/worker")
        process.arguments = [
            "run", "--id", id, "--concurrency", "\(concurrency ?? self.concurrency)", "--lease-batch", "\(batch)",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["REPORTS_DATABASE"] = path
        environment["REPORTS_LOG_LEVEL"] = ProcessInfo.processInfo.environment["REPORTS_LOG_LEVEL"] ?? "error"
        environment["REPORTS_QUEUE_MAX_RUNNING_PER_KEY"] = "\(keyCap)"
        process.environment = environment
        try process.run()
        return process
    }

    // MARK: Latency

    /// A worker runtime in this process; the handler notes when it starts.
    func measureInProcessLatency() async throws -> Percentiles {
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: try freshDatabase("latency-in-process")))
        let starts = StartTimes()
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let runtime = WorkerRuntime(
            queue: queue, registry: JobRegistry([StartRecorder(starts: starts)]),
            configuration: WorkerConfiguration(workerId: "bench"), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [runtime], logger: logger))
        var samples: [Duration] = []
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<latencySamples {
                try await Task.sleep(for: .milliseconds(Int.random(in: 3...10)))
                let before = ContinuousClock.now
                let id = try await queue.enqueue(NewJob(kind: StartRecorder.kind, payload: Data("{}".utf8))).jobId
                let deadline = before + .seconds(5)
                while starts.start(of: id) == nil && ContinuousClock.now < deadline { await Task.yield() }
                guard let start = starts.start(of: id) else {
                    throw ValidationError("job \(id) was not picked up within 5 s")
                }
                samples.append(start - before)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return Percentiles(samples)
    }

    /// A real `worker` process; the handler's record line shows when it ran. Each sample is the time
    /// from just before the enqueue call to the line appearing in the file, so it includes the
    /// enqueue commit and the file write: an upper bound on pickup latency.
    func measureCrossProcessLatency() async throws -> Percentiles {
        let path = try freshDatabase("latency-cross-process")
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: path))
        let record = dataDir + "/latency-record.txt"
        _ = FileManager.default.createFile(atPath: record, contents: nil)
        let worker = try startWorker(path: path, id: "bench-latency")
        defer {
            worker.terminate()
            worker.waitUntilExit()
        }
        let job = try NewJob(
            kind: DiagnosticJob.kind,
            parameters: DiagnosticJob.Parameters(
                recordFile: record.hasPrefix("/") ? record : FileManager.default.currentDirectoryPath + "/" + record))
        // Let the worker start: the first job's latency includes process start-up and is not sampled.
        _ = try await queue.enqueue(job)
        var lines = 1
        // Ready when it has run that job: a deadline on the condition, not a fixed delay; a worker that
        // exits instead says so at once.
        guard try await waitForLines(record, lines, timeout: .seconds(120), while: worker) != nil else {
            throw ValidationError(
                worker.isRunning
                    ? "the worker ran no job within 120 s"
                    : "the worker exited (status \(worker.terminationStatus)) before running a job")
        }
        var samples: [Duration] = []
        for _ in 0..<latencySamples {
            try await Task.sleep(for: .milliseconds(Int.random(in: 3...10)))
            let before = ContinuousClock.now
            _ = try await queue.enqueue(job)
            lines += 1
            guard let seen = try await waitForLines(record, lines, timeout: .seconds(5)) else {
                throw ValidationError("a job was not picked up within 5 s")
            }
            samples.append(seen - before)
        }
        return Percentiles(samples)
    }

    func waitForLines(_ path: String, _ count: Int, timeout: Duration, while process: Process? = nil) async throws
        -> ContinuousClock.Instant?
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let process, !process.isRunning { return nil }
            if let data = FileManager.default.contents(atPath: path),
                data.reduce(0, { $0 + ($1 == 10 ? 1 : 0) }) >= count
            {
                return ContinuousClock.now
            }
            usleep(100)
        }
        return nil
    }

    func freshDatabase(_ name: String) throws -> String {
        let path = dataDir + "/" + name + ".sqlite"
        try ReportsDatabase.migrate(path: path)
        return path
    }
}

/// Median and range of repeated runs.
struct Rates: CustomStringConvertible {
    let median: Double
    let low: Double
    let high: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        median = sorted[sorted.count / 2]
        low = sorted.first ?? 0
        high = sorted.last ?? 0
    }

    var description: String { String(format: "%8.0f jobs/s (range %.0f–%.0f)", median, low, high) }
}

struct Percentiles {
    let p50: Duration
    let p90: Duration
    let p99: Duration
    let max: Duration

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Duration { sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        p50 = at(0.50)
        p90 = at(0.90)
        p99 = at(0.99)
        max = sorted.last ?? .zero
    }

    var summary: String {
        func ms(_ d: Duration) -> String { String(format: "%.2f ms", d.timeInterval * 1000) }
        return "p50 \(ms(p50)), p90 \(ms(p90)), p99 \(ms(p99)), max \(ms(max))"
    }
}

final class StartTimes: Sendable {
    private let starts = Mutex<[Int64: ContinuousClock.Instant]>([:])
    func record(_ id: Int64) { starts.withLock { $0[id] = .now } }
    func start(of id: Int64) -> ContinuousClock.Instant? { starts.withLock { $0[id] } }
}

struct StartRecorder: JobHandler {
    static let kind = "start-recorder"
    let starts: StartTimes
    var kind: String { Self.kind }
    func handle(_ job: JobContext) async throws -> JobResult {
        starts.record(job.id)
        return JobResult()
    }
}
