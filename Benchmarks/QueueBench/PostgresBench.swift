import ArgumentParser
import Foundation
import JobQueue
import Logging
import PostgresBackend
import PostgresNIO
import ReportsSupport

/// The PostgreSQL series: the same measurements as SQLite's against a migrated database
/// on a running server (`--postgres-url`), and two bare-SQL loops with as many clients as worker
/// processes: the queue's own lease statements through libpq (Benchmarks/QueueBench/pg-same-statements.c,
/// the baseline the issue asks for, as SQLite's runs the queue's statements through the C API), and, for
/// reference, `pgbench` running a minimal SKIP LOCKED claim-and-complete loop without fairness
/// (Benchmarks/QueueBench/pg-baseline.sql).
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

            let driver = try compileSameStatementsDriver()
            for count in bench.processes {
                var minimal: [Double] = []
                for _ in 0..<bench.repeats {
                    minimal.append(try await measureMinimalLoop(database, queue, clients: count))
                }
                let bareMinimal = Rates(minimal)
                print("postgres bare SQL, minimal queue (pgbench), \(count) client(s): \(bareMinimal)")
                for keys in bench.drainKeys {
                    let label = keys == 0 ? "no key" : keys == 1 ? "1 key" : "\(keys) keys"
                    var same: [Double] = []
                    for _ in 0..<bench.repeats {
                        same.append(
                            try await measureSameStatements(driver, database, queue, clients: count, keys: keys))
                    }
                    let bare = Rates(same)
                    print("postgres bare SQL, the queue's statements (libpq), \(count) client(s), \(label): \(bare)")
                    for concurrency in bench.postgresConcurrency {
                        var rates: [Double] = []
                        for _ in 0..<bench.repeats {
                            rates.append(
                                try await measureDrain(
                                    database, queue, processes: count, keys: keys, concurrency: concurrency))
                        }
                        let drain = Rates(rates)
                        print(
                            "postgres drain, \(count) worker process(es), \(label.padding(toLength: 9, withPad: " ", startingAt: 0)) concurrency \(concurrency): \(drain)  = \(percent(drain, of: bare)) of the same statements bare, \(percent(drain, of: bareMinimal)) of the minimal queue"
                        )
                    }
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

    /// Statistics of the filled table, as a running service's would be: analysed only when empty, the
    /// planner's choices for the lease depended on whether autovacuum had come by yet (runs of one
    /// series ranged from 835 to 25,000 jobs/s).
    func analyze(_ database: PostgresReportsDatabase) async throws {
        _ = try await database.withConnection { connection in
            try await connection.query("ANALYZE jobs", logger: logger)
        }
    }

    func percent(_ rates: Rates, of baseline: Rates) -> String {
        String(format: "%.0f%%", rates.median / baseline.median * 100)
    }

    /// pgbench over pg-baseline.sql: a queue without fairness, the floor of what any SKIP LOCKED queue costs.
    func measureMinimalLoop(_ database: PostgresReportsDatabase, _ queue: PostgresJobQueue, clients: Int) async throws
        -> Double
    {
        try await reset(database)
        try await bench.enqueueNoOps(queue, count: bench.jobs, runAt: nil)
        try await analyze(database)
        let transactions = bench.jobs / bench.batch / clients + 1
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pgbench")
        process.arguments = [
            "-n", "-f", benchFile("pg-baseline.sql"), "-c", "\(clients)", "-j", "\(clients)", "-t", "\(transactions)",
            "-M", "prepared", "-D", "batch=\(bench.batch)", "-h", host, "-p", "\(port)", "-U", settings.username,
            settings.database,
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

    /// The queue's lease statements, their text taken from PostgresBackend, through libpq: every job
    /// must end succeeded, as in a drain.
    func measureSameStatements(
        _ driver: String, _ database: PostgresReportsDatabase, _ queue: PostgresJobQueue, clients: Int, keys: Int
    ) async throws -> Double {
        try await reset(database)
        try await bench.enqueueNoOps(queue, count: bench.jobs, runAt: nil, keys: keys)
        try await analyze(database)
        let settle = bench.dataDir + "/settle-and-read-head.sql"
        let claim = bench.dataDir + "/claim-candidates.sql"
        try PostgresLeaseSQL.settleAndReadHead.write(toFile: settle, atomically: true, encoding: .utf8)
        try PostgresLeaseSQL.claimCandidates.write(toFile: claim, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: driver)
        process.arguments = [
            "host=\(host) port=\(port) user=\(settings.username) dbname=\(settings.database)", "\(clients)",
            "\(bench.batch)", "\(bench.keyCap)", "\(PostgresLeaseSQL.keyLockClass)", "30000", settle, claim,
        ]
        if let password = settings.password {
            process.environment = ProcessInfo.processInfo.environment.merging(["PGPASSWORD": password]) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let seconds = Double(
                String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw ValidationError("the bare-SQL driver failed") }
        let succeeded = try await rows(database, "state = 'succeeded'")
        guard succeeded == bench.jobs else {
            throw ValidationError("the bare-SQL driver left \(bench.jobs - succeeded) jobs unfinished")
        }
        return Double(succeeded) / seconds
    }

    /// Builds pg-same-statements.c with the system C compiler against libpq (Debian's libpq-dev).
    func compileSameStatementsDriver() throws -> String {
        let binary = bench.dataDir + "/pg-same-statements"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "cc", "-O2", "-I/usr/include/postgresql", benchFile("pg-same-statements.c"), "-lpq", "-o", binary,
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("could not build the bare-SQL driver (needs cc and libpq-dev)")
        }
        return binary
    }

    func benchFile(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(name).path
    }

    func measureDrain(
        _ database: PostgresReportsDatabase, _ queue: PostgresJobQueue, processes count: Int, keys: Int,
        concurrency: Int
    ) async throws -> Double {
        try await reset(database)
        let runAt = Date().addingTimeInterval(3 + Double(bench.jobs) / 50_000)
        try await bench.enqueueNoOps(queue, count: bench.jobs, runAt: runAt, keys: keys)
        try await analyze(database)
        var workers: [Process] = []
        defer {
            for worker in workers {
                worker.terminate()
                worker.waitUntilExit()
            }
        }
        for index in 0..<count {
            workers.append(
                try bench.startWorker(path: url, id: "pg-bench-\(count)-\(index)", concurrency: concurrency))
        }
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
