import Foundation
import JobQueue
import PostgresBackend
import PostgresTesting
import ReportsTesting
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Workers on separate hosts share one PostgreSQL queue. The hosts are network
/// namespaces of the test's own (`TestNetwork`): PostgreSQL in the hub, workers on hosts reaching it
/// over their veth links; for a report run, the API on a host of its own and the sandbox in the hub.
@Suite("PostgreSQL on several hosts")
struct PostgresHostsTests {
    static let jobs = 2000

    /// One line per run of a diagnostic job: `<job id> <attempt> <worker id>`.
    struct Record {
        let job: Int64
        let attempt: Int
        let worker: String
    }

    static func records(_ path: String) -> [Record] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let job = Int64(parts[0]), let attempt = Int(parts[1]) else { return nil }
            return Record(job: job, attempt: attempt, worker: String(parts[2]))
        }
    }

    static func enqueue(_ count: Int, into url: String, record: String, sleepMs: Int) async throws {
        try await PostgresTestCluster.withRunning(url: url) { database in
            let queue = PostgresJobQueue(database: database)
            let job = try NewJob(
                kind: DiagnosticJob.kind,
                parameters: DiagnosticJob.Parameters(sleepMs: sleepMs, recordFile: record))
            _ = try await queue.enqueue(Array(repeating: job, count: count))
        }
    }

    static func succeeded(_ url: String) async throws -> Int {
        try await PostgresTestCluster.withRunning(url: url) { database in
            try await PostgresJobQueue(database: database).stats().succeeded
        }
    }

    @Test func twoHostsDrainOneQueueAndTheSurvivorFinishesAKilledHostsJobs() async throws {
        let network = try TestNetwork(hosts: ["h1", "h2"])
        defer { network.remove() }
        let server = try PostgresTestCluster.start(
            namespace: network.hub,
            listen: "127.0.0.1,\(network.hubAddress(forHost: 0)),\(network.hubAddress(forHost: 1))",
            trust: "10.231.0.0/16")
        defer { server.stop() }
        try server.psql("CREATE DATABASE reports")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        func hostURL(_ index: Int) -> String {
            "postgres://reports@\(network.hubAddress(forHost: index)):\(server.port)/reports?sslmode=disable"
        }
        // Migrated from a host, as an operator would, over its link.
        let migrate = try ChildProcess(
            "enqueuer", ["migrate"], environment: ["REPORTS_DATABASE": hostURL(0)],
            outputPath: directory.file("migrate.log"), namespace: network.hosts[0])
        #expect(try await migrate.waitForExit(timeout: .seconds(60)) == 0, "\(migrate.output)")

        let record = directory.file("record.txt")
        let socketURL = server.url(database: "reports")
        try await Self.enqueue(Self.jobs, into: socketURL, record: record, sleepMs: 5)
        var workers: [(host: Int, process: ChildProcess)] = []
        defer { for worker in workers where worker.process.isRunning { worker.process.signal(SIGKILL) } }
        for host in 0..<2 {
            for index in 0..<2 {
                let id = "h\(host + 1)-w\(index + 1)"
                let process = try ChildProcess(
                    "worker", ["run", "--id", id, "--concurrency", "8", "--lease-seconds", "2", "--poll-ms", "100"],
                    environment: ["REPORTS_DATABASE": hostURL(host), "REPORTS_LOG_LEVEL": "warning"],
                    outputPath: directory.file("\(id).log"), namespace: network.hosts[host])
                workers.append((host, process))
            }
        }
        // Mid-drain, both hosts working: every worker on host 1 dies at once (the host is lost).
        let bothWorking = try await waitUntil(timeout: .seconds(90)) {
            let lines = Self.records(record)
            return lines.count >= Self.jobs / 4 && lines.contains { $0.worker.hasPrefix("h1-") }
                && lines.contains { $0.worker.hasPrefix("h2-") }
        }
        #expect(bothWorking, "\(workers.map(\.process.output))")
        for worker in workers where worker.host == 0 { worker.process.signal(SIGKILL) }

        // Host 2 finishes everything, including what host 1 held, once those leases expire.
        let drained = try await waitUntil(timeout: .seconds(120), pollEvery: .milliseconds(200)) {
            try await Self.succeeded(socketURL) == Self.jobs
        }
        let succeeded = try await Self.succeeded(socketURL)
        #expect(drained, "\(succeeded) of \(Self.jobs) succeeded")
        let lines = Self.records(record)
        let byJob = Dictionary(grouping: lines, by: \.job)
        #expect(byJob.count == Self.jobs, "no job is lost: every one ran")
        // Run twice only if host 1 ran it and died before its success was recorded.
        let twice = byJob.filter { $0.value.count > 1 }
        #expect(twice.allSatisfy { $0.value.contains { $0.worker.hasPrefix("h1-") } }, "\(twice.prefix(5))")
        let retaken = lines.filter { $0.worker.hasPrefix("h2-") && $0.attempt > 1 }
        #expect(!retaken.isEmpty, "host 2 ran jobs host 1 had leased, as their second attempt")
        for worker in workers where worker.host == 1 {
            worker.process.signal(SIGTERM)
            #expect(try await worker.process.waitForExit(timeout: .seconds(30)) == 0)
        }
    }

    /// The whole product across hosts: the API on one, a worker on each of two others, PostgreSQL and
    /// the sandbox in the hub. A report runs end to end (Forge's trigger, the Microsoft connect flow,
    /// Run now, Jira read, OneNote page); then the host whose worker ran it is lost, and the next Run
    /// now is run by the other host's worker into the same page.
    @Test func aReportRunsEndToEndWithTheAPIAndWorkersOnSeparateHosts() async throws {
        let network = try TestNetwork(hosts: ["h1", "h2", "api"], routed: true)
        defer { network.remove() }
        let server = try PostgresTestCluster.start(
            namespace: network.hub, listen: (0..<3).map { network.hubAddress(forHost: $0) }.joined(separator: ","),
            trust: "10.231.0.0/16")
        defer { server.stop() }
        try server.psql("CREATE DATABASE reports")
        let hosts = ProcessStack.Hosts(network: network, server: server, apiHost: 2)
        let stack = try await ProcessStack.acrossHosts(hosts)
        defer { stack.remove() }
        try stack.startWorker("h1-w", on: 0, of: hosts)
        try stack.startWorker("h2-w", on: 1, of: hosts)
        #expect(try await stack.installAndConnect(), "\(stack.logs)")
        let report = try #require(try await stack.createReport(), "\(stack.logs)")

        func runOnce() async throws -> (status: String?, worker: String?) {
            let runId = try #require(try await stack.runNow(report)["id"] as? String)
            let run = try await stack.waitForRun(runId, timeout: .seconds(90))
            let worker = try await PostgresTestCluster.withRunning(url: server.url(database: "reports")) { database in
                try await PostgresJobQueue(database: database).list(state: .succeeded, limit: 100).last?.workerId
            }
            return (run["status"] as? String, worker)
        }
        let first = try await runOnce()
        #expect(first.status == "succeeded", "\(stack.logs)")
        let pages = try await stack.pages()
        #expect(pages.count == 1)

        // The host whose worker wrote the page is lost; the other host's worker runs the next one.
        let lost = try #require(first.worker.flatMap { stack.workers[$0] }, "\(String(describing: first.worker))")
        lost.signal(SIGKILL)
        _ = try await lost.waitForExit(timeout: .seconds(10))
        let second = try await runOnce()
        #expect(second.status == "succeeded", "\(stack.logs)")
        #expect(second.worker != nil && second.worker != first.worker, "\(String(describing: second.worker))")
        let after = try await stack.pages()
        #expect(after.count == 1 && after.first?["id"] as? String == pages.first?["id"] as? String, "one page")

        await stack.stop()
        for secret in stack.secrets { #expect(!stack.logs.contains(secret), "a secret reached a log") }
    }

    @Test func aWorkerRidesOutAPostgreSQLRestartWithoutLosingAJob() async throws {
        let server = try PostgresTestCluster.start()
        defer { server.stop() }
        try server.psql("CREATE DATABASE reports")
        let url = server.tcpURL(database: "reports")
        try await PostgresTestCluster.withRunning(url: url) { database in _ = try await database.migrate() }
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let record = directory.file("record.txt")
        // 300 × 100 ms over 8 slots: about 4 s of work, so the restart after the first 50 comes mid-drain
        // even when the machine is busy (with 20 ms jobs a loaded run once finished all 300 first).
        try await Self.enqueue(300, into: url, record: record, sleepMs: 100)
        let worker = try ChildProcess(
            "worker", ["run", "--id", "survivor", "--concurrency", "8", "--poll-ms", "100"],
            environment: ["REPORTS_DATABASE": url, "REPORTS_LOG_LEVEL": "warning"],
            outputPath: directory.file("worker.log"))
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        #expect(try await waitUntil(timeout: .seconds(60)) { Self.records(record).count >= 50 })

        let doneBeforeRestart = Set(Self.records(record).map(\.job)).count
        try server.restart()  // cuts every connection, mid-drain
        #expect(doneBeforeRestart < 300, "the restart came while the worker still had jobs to do")
        try await Self.enqueue(300, into: url, record: record, sleepMs: 10)
        let drained = try await waitUntil(timeout: .seconds(120), pollEvery: .milliseconds(200)) {
            try await Self.succeeded(url) == 600
        }
        #expect(drained, "\(worker.output)")
        #expect(Set(Self.records(record).map(\.job)).count == 600, "every job ran")
        #expect(worker.isRunning, "the worker reconnected instead of exiting")
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0)
    }
}
