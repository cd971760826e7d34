import ArgumentParser
import Foundation
import JobQueue
import JobQueuePostgres
import Logging
import PostgresNIO
import PostgresStorage
import ReportsSupport

/// The PostgreSQL series (issue #16): the same measurements as SQLite's against a migrated database
/// on a running server (`--postgres-url`), and a bare-SQL baseline: `pgbench` running the minimal
/// SKIP LOCKED claim-and-complete loop (Benchmarks/QueueBench/pg-baseline.sql) with as many clients as
/// worker processes.
struct PostgresSeries {
    let bench: QueueBench
    let url: String
    let settings: PostgresSettings
    let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

    func run() async throws {
        try await PostgresReportsDatabase.withTemporaryClient(settings: settings, logger: logger) { database in
            _ = try await database.migrate()
            let queue = PostgresJobQueue(database: database)
            var single: [Double] = []
            var batched: [Double] = []
            for _ in 0..<bench.repeats {
                try await reset(database)
                let job = try NewJob(kind: DiagnosticJob.kind, parameters: DiagnosticJob.Parameters())
                let start = ContinuousClock.now
                for _ in 0..<bench.enqueueJobs { _ = try await queue.enqueue(job) }
                single.append(Double(bench.enqueueJobs) / (ContinuousClock.now - start).timeInterval)
                let batchedJobs = bench.enqueueJobs * 5
                let batchStart = ContinuousClock.now
                for _ in 0..<(batchedJobs / 1000) { _ = try await queue.enqueue(Array(repeating: job, count: 1000)) }
                batched.append(Double(batchedJobs) / (ContinuousClock.now - batchStart).timeInterval)
            }
            print("postgres enqueue, one job per transaction:   \(Rates(single))")
            print("postgres enqueue, 1000 jobs per transaction: \(Rates(batched))")

            for count in bench.processes {
                var baseline: [Double] = []
                for _ in 0..<bench.repeats {
                    baseline.append(try await measureBaseline(database, queue, clients: count))
                }
                let bare = Rates(baseline)
                print("postgres bare SQL (pgbench), \(count) client(s): \(bare)")
                for keys in bench.drainKeys {
                    var rates: [Double] = []
                    for _ in 0..<bench.repeats {
                        rates.append(try await measureDrain(database, queue, processes: count, keys: keys))
                    }
                    let drain = Rates(rates)
                    let label = keys == 0 ? "no key" : keys == 1 ? "1 key" : "\(keys) keys"
                    print(
                        "postgres drain, \(count) worker process(es), \(label.padding(toLength: 9, withPad: " ", startingAt: 0)) \(drain)  = \(String(format: "%.0f", drain.median / bare.median * 100))% of bare SQL"
                    )
                }
            }
            try await reset(database)
            print("postgres pickup latency, other process: \(try await measureLatency(queue).summary)")
        }
    }

    func reset(_ database: PostgresReportsDatabase) async throws {
        _ = try await database.withConnection { connection in
            // `runs` refers to `jobs`; the bench writes no runs, so the cascade empties nothing else.
            try await connection.query(
                "TRUNCATE jobs, queue_clock, queue_keys RESTART IDENTITY CASCADE", logger: logger)
            try await connection.query("VACUUM ANALYZE jobs", logger: logger)
        }
    }

    func measureBaseline(_ database: PostgresReportsDatabase, _ queue: PostgresJobQueue, clients: Int) async throws
        -> Double
    {
        try await reset(database)
        try await bench.enqueueNoOps(queue, count: bench.jobs, runAt: nil)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "pg-baseline.sql"
        ).path
        let transactions = bench.jobs / bench.batch / clients + 1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pgbench")
        process.arguments = [
            "-n", "-f", script, "-c", "\(clients)", "-j", "\(clients)", "-t", "\(transactions)", "-M", "prepared",
            "-D", "batch=\(bench.batch)", "-h", host, "-p", "\(port)", "-U", settings.username, settings.database,
        ]
        process.standardOutput = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = (ContinuousClock.now - start).timeInterval
        guard process.terminationStatus == 0 else { throw ValidationError("pgbench failed") }
        let done = try await rows(database, "state IN ('succeeded', 'running')")
        return Double(done) / elapsed
    }

    func measureDrain(_ database: PostgresReportsDatabase, _ queue: PostgresJobQueue, processes count: Int, keys: Int)
        async throws -> Double
    {
        try await reset(database)
        let runAt = Date().addingTimeInterval(2 + Double(bench.jobs) / 50_000)
        try await bench.enqueueNoOps(queue, count: bench.jobs, runAt: runAt, keys: keys)
        var workers: [Process] = []
        defer {
            for worker in workers {
                worker.terminate()
                worker.waitUntilExit()
            }
        }
        for index in 0..<count { workers.append(try bench.startWorker(path: url, id: "pg-bench-\(count)-\(index)")) }
        if Date() >= runAt { throw ValidationError("the workers started after the jobs came due; raise the lead time") }
        while try await rows(database, "state IN ('available', 'running')", limit: 1) > 0 {
            try await Task.sleep(for: .milliseconds(50))
            if workers.contains(where: { !$0.isRunning }) { throw ValidationError("a worker exited during the drain") }
        }
        let finished = try await database.withConnection { connection in
            try await connection.query("SELECT max(finished_at) FROM jobs", logger: logger).collect().first?.decode(
                Int64.self) ?? 0
        }
        let succeeded = try await rows(database, "state = 'succeeded'")
        guard succeeded == bench.jobs else {
            throw ValidationError("only \(succeeded) of \(bench.jobs) jobs succeeded")
        }
        return Double(bench.jobs) / (Double(finished - Timestamp.milliseconds(runAt)) / 1000)
    }

    /// Enqueue to the diagnostic job's record line in another process, as for SQLite.
    func measureLatency(_ queue: PostgresJobQueue) async throws -> Percentiles {
        let record = bench.dataDir + "/pg-latency-record.txt"
        _ = FileManager.default.createFile(atPath: record, contents: nil)
        let worker = try bench.startWorker(path: url, id: "pg-bench-latency")
        defer {
            worker.terminate()
            worker.waitUntilExit()
        }
        let job = try NewJob(
            kind: DiagnosticJob.kind,
            parameters: DiagnosticJob.Parameters(
                recordFile: record.hasPrefix("/") ? record : FileManager.default.currentDirectoryPath + "/" + record))
        _ = try await queue.enqueue(job)
        var lines = 1
        guard try await bench.waitForLines(record, lines, timeout: .seconds(60), while: worker) != nil else {
            throw ValidationError("the PostgreSQL worker ran no job within 60 s")
        }
        var samples: [Duration] = []
        for _ in 0..<bench.latencySamples {
            try await Task.sleep(for: .milliseconds(Int.random(in: 3...10)))
            let before = ContinuousClock.now
            _ = try await queue.enqueue(job)
            lines += 1
            guard let seen = try await bench.waitForLines(record, lines, timeout: .seconds(5)) else {
                throw ValidationError("a job was not picked up within 5 s")
            }
            samples.append(seen - before)
        }
        return Percentiles(samples)
    }

    func rows(_ database: PostgresReportsDatabase, _ condition: String, limit: Int? = nil) async throws -> Int {
        let limited = limit.map { " LIMIT \($0)" } ?? ""
        return try await database.withConnection { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE \(condition)\(limited)) AS j"),
                logger: logger
            ).collect().first?.decode(Int.self) ?? 0
        }
    }

    var host: String {
        switch settings.endpoint {
        case .tcp(let host, _): return host
        case .unixSocket(let path): return URL(fileURLWithPath: path).deletingLastPathComponent().path
        }
    }

    var port: Int {
        switch settings.endpoint {
        case .tcp(_, let port): return port
        case .unixSocket(let path): return Int(path.split(separator: ".").last ?? "") ?? 5432
        }
    }
}
