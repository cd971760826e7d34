import Foundation
import GRDB
import QueueTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import SQLiteBackend

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Real `enqueuer` and `worker` processes on a real SQLite file. Serialized: they share the two cores.
@Suite("Processes", .serialized)
struct ProcessTests {
    func environment(_ directory: TemporaryDirectory) -> [String: String] {
        ["REPORTS_DATABASE": directory.file("reports.sqlite"), "REPORTS_LOG_LEVEL": "info"]
    }

    func startWorker(_ id: String, in directory: TemporaryDirectory, _ extra: [String] = []) throws -> ChildProcess {
        try ChildProcess(
            "worker", ["run", "--id", id] + extra,
            environment: environment(directory), outputPath: directory.file("\(id)-\(UUID().uuidString.prefix(8)).log"))
    }

    func recordedLines(_ path: String) -> [(id: Int64, attempt: Int, worker: String)] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            return (Int64(parts[0])!, Int(parts[1])!, String(parts[2]))
        }
    }

    @Test func aWorkerKilledMidJobLosesNothingAndOnlyItsLeasedJobsRunTwice() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = environment(directory)
        let migrate = try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory)
        #expect(migrate.status == 0, "\(migrate.output)")

        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: env["REPORTS_DATABASE"]!))
        let record = directory.file("record.txt")
        let jobs = try (0..<2000).map { _ in try diagnostic(.init(sleepMs: Int.random(in: 5...20), recordFile: record))
        }
        let ids = Set(try await queue.enqueue(jobs).map(\.jobId))
        #expect(ids.count == 2000)

        let options = ["--concurrency", "4", "--lease-seconds", "3"]
        var workers = try ["w1", "w2", "w3"].map { try startWorker($0, in: directory, options) }
        #expect(try await waitUntil(timeout: .seconds(60)) { recordedLines(record).count >= 400 })

        // Kill w2 while it holds leases; what it held at that moment is all that may run twice.
        workers[1].signal(SIGKILL)
        #expect(try await workers[1].waitForExit(timeout: .seconds(10)) != 0)
        let heldByKilled = Set(
            try await queue.database.pool.read { db in
                try Int64.fetchAll(db, sql: "SELECT id FROM jobs WHERE state = 'running' AND worker_id = 'w2'")
            })
        #expect(!heldByKilled.isEmpty, "the kill must land while w2 holds leases")
        workers[1] = try startWorker("w2", in: directory, options)

        #expect(try await waitUntil(timeout: .seconds(120)) { try await queue.stats().succeeded == 2000 })
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers {
            let status = try await worker.waitForExit(timeout: .seconds(30))
            #expect(status == 0, "\(worker.output)")
        }

        let stats = try await queue.stats()
        #expect(stats == QueueStats(succeeded: 2000))
        var seen: [Int64: Int] = [:]
        for line in recordedLines(record) { seen[line.id, default: 0] += 1 }
        #expect(Set(seen.keys) == ids, "every job ran")
        let twice = Set(seen.filter { $0.value > 1 }.keys)
        #expect(twice.isSubset(of: heldByKilled), "only jobs the killed worker held ran twice")
        #expect(seen.values.allSatisfy { $0 <= 2 })
    }

    @Test func sigtermFinishesOrReleasesInFlightJobsAndExitsZero() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = environment(directory)
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: env["REPORTS_DATABASE"]!))
        let record = directory.file("record.txt")
        let short = try await queue.enqueue(
            (0..<3).map { _ in try diagnostic(.init(sleepMs: 400, recordFile: record), priority: 1) }
        ).map(\.jobId)
        let long = try await queue.enqueue(
            (0..<2).map { _ in try diagnostic(.init(sleepMs: 600_000, recordFile: record)) }
        ).map(\.jobId)
        let waiting = try await queue.enqueue(try diagnostic(.init(recordFile: record), priority: -1)).jobId

        let worker = try startWorker("w-term", in: directory, ["--concurrency", "5", "--grace-seconds", "2"])
        #expect(try await waitUntil(timeout: .seconds(30)) { try await queue.stats().running == 5 })
        worker.signal(SIGTERM)
        let status = try await worker.waitForExit(timeout: .seconds(30))
        #expect(status == 0, "\(worker.output)")

        for id in short {
            let row = try await queue.job(id: id)!
            #expect(row.state == .succeeded && row.attempt == 1, "finished within the grace period")
        }
        for id in long {
            let row = try await queue.job(id: id)!
            #expect(
                row.state == .available && row.attempt == 0 && row.leaseUntil == nil,
                "released without counting an attempt")
        }
        let untouched = try await queue.job(id: waiting)!
        #expect(untouched.state == .available && untouched.attempt == 0, "no new lease after SIGTERM")
        #expect(Set(recordedLines(record).map(\.id)) == Set(short))
        #expect(worker.output.contains(#""released":"2""#), "the JSON log reports the released jobs")
    }

    @Test func theAdminCommandsWorkOnARealDatabase() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = environment(directory)
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)

        let enqueued = try await ChildProcess.run(
            "enqueuer",
            ["queue", "enqueue-diagnostic", "--count", "3", "--fail-times", "1", "--priority", "4", "--json"],
            environment: env, in: directory)
        #expect(enqueued.status == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(enqueued.output.utf8)) as? [String: Any]
        #expect(summary?["enqueued"] as? Int == 3)

        let stats = try await ChildProcess.run(
            "enqueuer", ["queue", "stats", "--json"], environment: env, in: directory)
        let decoded = try JSONDecoder().decode(QueueStats.self, from: Data(stats.output.utf8))
        #expect(decoded.available == 3 && decoded.running == 0)

        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: env["REPORTS_DATABASE"]!))
        let lease = try #require(
            try await queue.lease(LeaseRequest(workerId: "x", limit: 1, leaseDuration: .seconds(30))).first
        ).lease
        _ = try await queue.fail(lease, .permanent("broken", "on purpose"))

        let listed = try await ChildProcess.run(
            "enqueuer", ["queue", "list", "--state", "discarded", "--json"], environment: env, in: directory)
        let list = try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: [[String: Any]]]
        #expect(list?["jobs"]?.count == 1)
        #expect(list?["jobs"]?.first?["last_error"] as? String == "broken: on purpose")
        #expect(list?["jobs"]?.first?["payload"] == nil, "payloads are never listed")

        let retried = try await ChildProcess.run(
            "enqueuer", ["queue", "retry", "\(lease.jobId)"], environment: env, in: directory)
        #expect(retried.status == 0)
        #expect(try await queue.job(id: lease.jobId)?.state == .available)
        let discarded = try await ChildProcess.run(
            "enqueuer", ["queue", "discard", "\(lease.jobId)"], environment: env, in: directory)
        #expect(discarded.status == 0)
        #expect(try await queue.job(id: lease.jobId)?.state == .discarded)
        let missing = try await ChildProcess.run(
            "enqueuer", ["queue", "retry", "424242"], environment: env, in: directory)
        #expect(missing.status == 1 && missing.output.contains("no such job"))
        let badState = try await ChildProcess.run(
            "enqueuer", ["queue", "list", "--state", "lost"], environment: env, in: directory)
        #expect(badState.status != 0 && badState.output.contains("--state must be one of"))
    }

    @Test func anOnlineBackupWhileAWorkerWritesIsConsistentAndPrivate() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = environment(directory)
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        _ = try await ChildProcess.run(
            "enqueuer", ["queue", "enqueue-diagnostic", "--count", "2000", "--sleep-ms", "1"], environment: env,
            in: directory)
        let worker = try ChildProcess(
            "worker", ["run", "--id", "busy", "--concurrency", "4"], environment: env,
            outputPath: directory.file("w.log"))
        defer {
            worker.signal(SIGTERM)
            worker.process.waitUntilExit()
        }
        let queue = SQLiteJobQueue(database: try ReportsDatabase.open(path: env["REPORTS_DATABASE"]!))
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                (try? await queue.stats().succeeded) ?? 0 > 50
            })

        let target = directory.file("backup.sqlite")
        let backup = try await ChildProcess.run(
            "enqueuer", ["backup", "--to", target], environment: env, in: directory)
        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.output.contains("integrity ok"))
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The copy is a complete database of this schema version: it opens like the live one.
        let restored = try await SQLiteJobQueue(database: ReportsDatabase.open(path: target)).stats()
        #expect(restored.succeeded + restored.available + restored.running == 2000, "every job is in the snapshot")

        let again = try await ChildProcess.run("enqueuer", ["backup", "--to", target], environment: env, in: directory)
        #expect(again.status == 1 && again.output.contains("already exists"), "\(again.output)")
        let untouched = try await SQLiteJobQueue(database: ReportsDatabase.open(path: target)).stats()
        #expect(
            untouched.succeeded == restored.succeeded && untouched.available == restored.available,
            "an existing file is never overwritten")
    }

    @Test func serveRefusesAPublicBindWithoutATLSProxyAndNamesMissingSettings() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let env = environment(directory)
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        let publicBind = try await ChildProcess.run(
            "enqueuer", ["serve", "--host", "0.0.0.0"], environment: env, in: directory)
        #expect(publicBind.status != 0 && publicBind.output.contains("--behind-tls-proxy"), "\(publicBind.output)")
        let noAppId = try await ChildProcess.run("enqueuer", ["serve", "--port", "0"], environment: env, in: directory)
        #expect(
            noAppId.status == 78 && noAppId.output.contains("configuration error: FORGE_APP_ID is not set"),
            "\(noAppId.output)")
        var partial = env
        partial["FORGE_APP_ID"] = "ari:cloud:ecosystem::app/x"
        partial["REPORTS_TOKEN_KEYS"] = "k1:" + Data(repeating: 1, count: 32).base64EncodedString()
        partial["REPORTS_STATE_KEY"] = Data(repeating: 2, count: 32).base64EncodedString()
        partial["MS_CLIENT_ID"] = "00000000-0000-0000-0000-000000000001"
        partial["MS_CLIENT_SECRET"] = "s3cr3t-value"
        partial["MS_REDIRECT_URI"] = "http://example.com/callback"
        let insecure = try await ChildProcess.run(
            "enqueuer", ["serve", "--port", "0"], environment: partial, in: directory)
        #expect(
            insecure.status == 78 && insecure.output.contains("MS_REDIRECT_URI must be an https:// URL"),
            "\(insecure.output)")
        #expect(!insecure.output.contains("s3cr3t-value") && !insecure.output.contains("example.com"))
    }

    @Test func theSandboxPrintsTheEnvironmentToUseAndServesIt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let sandbox = try ChildProcess(
            "sandbox", ["serve", "--port", "0", "--seed", "5"], environment: [:],
            outputPath: directory.file("sandbox.log"))
        defer {
            sandbox.signal(SIGTERM)
            sandbox.process.waitUntilExit()
        }
        #expect(try await waitUntil(timeout: .seconds(30)) { sandbox.output.contains("sandbox ready:") })
        let line = try #require(sandbox.output.split(separator: "\n").first { $0.hasPrefix("sandbox ready:") })
        var settings: [String: String] = [:]
        for pair in line.dropFirst("sandbox ready: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            settings[String(parts[0])] = String(parts[1])
        }
        for name in [
            "REPORTS_SANDBOX", "FORGE_APP_ID", "FORGE_JWKS_URL", "ATLASSIAN_GRAPHQL_URL", "MS_LOGIN_BASE_URL",
            "MS_GRAPH_BASE_URL",
        ] {
            #expect(settings[name] != nil, "\(name)")
        }
        let jwksURL = try #require(settings["FORGE_JWKS_URL"].flatMap(URL.init(string:)))
        #expect(jwksURL.port != 0)
        let (data, _) = try await URLSession.shared.data(from: jwksURL)
        #expect(((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["keys"] as? [Any])?.count == 1)
    }

    @Test func aWorkerConfiguredForReportsNamesWhatIsMissing() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var env = environment(directory)
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        env["MS_CLIENT_ID"] = "00000000-0000-0000-0000-000000000001"
        let partial = try await ChildProcess.run("worker", ["run"], environment: env, in: directory)
        #expect(
            partial.status == 78 && partial.output.contains("configuration error: REPORTS_TOKEN_KEYS is not set"),
            "\(partial.output)")
        env["REPORTS_TOKEN_KEYS"] = "k1:" + Data(repeating: 3, count: 32).base64EncodedString()
        let noSecret = try await ChildProcess.run("worker", ["run"], environment: env, in: directory)
        #expect(
            noSecret.status == 78 && noSecret.output.contains("configuration error: MS_CLIENT_SECRET is not set"),
            "\(noSecret.output)")
    }

    @Test func badDatabasesAndSettingsStopTheProcessWithOneClearLine() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let corrupt = directory.file("corrupt.sqlite")
        try Data(repeating: 0x7A, count: 4096).write(to: URL(fileURLWithPath: corrupt))
        let plainFile = directory.file("plain")
        _ = FileManager.default.createFile(atPath: plainFile, contents: Data("x".utf8))

        let cases: [(String, [String], String, Int32, String)] = [
            (
                "enqueuer", ["queue", "stats"], corrupt, 1,
                "REPORTS_DATABASE: cannot open the database: file is not a database"
            ),
            ("worker", ["run"], corrupt, 1, "REPORTS_DATABASE: cannot open the database: file is not a database"),
            ("enqueuer", ["migrate"], plainFile + "/reports.sqlite", 1, "REPORTS_DATABASE: cannot open the database"),
            ("worker", ["run"], directory.file("never-migrated.sqlite"), 1, "run `enqueuer migrate` first"),
            ("worker", ["run"], "", 78, "configuration error: REPORTS_DATABASE is empty"),
            (
                "enqueuer", ["queue", "stats"], directory.path + "/", 78,
                "configuration error: REPORTS_DATABASE names a directory"
            ),
        ]
        for (program, arguments, database, expectedStatus, message) in cases {
            let result = try await ChildProcess.run(
                program, arguments, environment: ["REPORTS_DATABASE": database], in: directory, timeout: .seconds(30))
            #expect(result.status == expectedStatus, "\(program) \(arguments): \(result.output)")
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 1, "one line: \(result.output)")
            #expect(result.output.contains(message), "\(result.output)")
            if !database.isEmpty { #expect(!result.output.contains(database), "the value is not printed") }
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("never-migrated.sqlite")))
    }
}
