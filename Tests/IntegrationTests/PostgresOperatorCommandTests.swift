import Foundation
import PostgresTesting
import TestSupport
import Testing

/// The operator's commands on PostgreSQL: the same `enqueuer queue` subcommands as on
/// SQLite, and `enqueuer keys rotate`, each a real process with its own short-lived client. (Key
/// rotation's rules are checked on both backends by the conformance suite.)
@Suite("Operator commands on PostgreSQL")
struct PostgresOperatorCommandTests {
    @Test func theQueueAndKeyCommandsRunOnIt() async throws {
        try await PostgresTestCluster.shared().withDatabase { _, name in
            let url = try await PostgresTestCluster.shared().url(database: name)
            let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let environment = ["REPORTS_DATABASE": url, "REPORTS_TOKEN_KEYS": "k1:\(key)"]
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            func enqueuer(_ arguments: [String]) async throws -> (status: Int32?, output: String) {
                try await ChildProcess.run("enqueuer", arguments, environment: environment, in: directory)
            }
            let enqueued = try await enqueuer(["queue", "enqueue-diagnostic", "--count", "3", "--json"])
            #expect(enqueued.status == 0, "\(enqueued.output)")
            let summary = try #require(Self.json(enqueued.output), "\(enqueued.output)")
            let first = try #require(summary["firstJobId"] as? Int)

            let discarded = try await enqueuer(["queue", "discard", "\(first)"])
            #expect(discarded.status == 0 && discarded.output.contains("discarded"), "\(discarded.output)")
            let listed = try await enqueuer(["queue", "list", "--state", "discarded", "--json"])
            #expect(listed.status == 0 && listed.output.contains("\"id\":\(first)"), "\(listed.output)")
            let retried = try await enqueuer(["queue", "retry", "\(first)"])
            #expect(retried.status == 0 && retried.output.contains("queued for retry"), "\(retried.output)")
            let stats = try await enqueuer(["queue", "stats", "--json"])
            let counts = try #require(Self.json(stats.output), "\(stats.output)")
            #expect(counts["available"] as? Int == 3 && counts["discarded"] as? Int == 0, "\(counts)")
            #expect(counts["scheduleLateness"] is [String: Any])

            let keys = try await enqueuer(["keys", "rotate"])
            #expect(keys.status == 0 && keys.output.contains("re-sealed 0"), "\(keys.output)")
            #expect(!keys.output.contains(key), "the key is never printed")
        }
    }

    /// The command's JSON line (its output also holds the process's log lines, which go to stderr).
    static func json(_ output: String) -> [String: Any]? {
        output.split(separator: "\n").lazy.compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.first { $0["msg"] == nil && $0["message"] == nil }
    }
}
