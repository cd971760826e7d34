import Foundation
import Synchronization
@testable import JobQueue
@testable import JobQueueSQLite
@testable import SQLiteStorage
@testable import ReportsSupport

/// A fresh directory under the system temp folder; each test removes its own.
struct TemporaryDirectory: Sendable {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "reports-tests-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand, so lease expiry and backoff are checked without waiting.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }
}

/// A migrated database in a temporary directory, with a queue on a test clock.
struct QueueFixture: Sendable {
    let directory: TemporaryDirectory
    let clock: TestClock
    let database: ReportsDatabase
    let queue: SQLiteJobQueue

    init(retryStrategy: JobRetryStrategy = .exponentialJitter(), realClock: Bool = false, fairness: FairnessPolicy = .standard) throws {
        let directory = TemporaryDirectory()
        let clock = TestClock()
        self.directory = directory
        self.clock = clock
        let path = directory.file("reports.sqlite")
        try ReportsDatabase.migrate(path: path)
        database = try ReportsDatabase.open(path: path)
        let now: @Sendable () -> Date
        if realClock { now = { Date() } } else { now = { clock.now } }
        queue = SQLiteJobQueue(database: database, retryStrategy: retryStrategy, fairness: fairness, now: now)
    }

    func remove() { directory.remove() }

    func row(_ id: Int64) async throws -> JobRecord {
        try await queue.job(id: id)!
    }
}

func diagnostic(_ parameters: DiagnosticJob.Parameters = .init(), priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 20, uniqueKey: String? = nil) throws -> NewJob {
    try NewJob(kind: DiagnosticJob.kind, parameters: parameters, priority: priority, runAt: runAt, maxAttempts: maxAttempts, uniqueKey: uniqueKey)
}

func rawJob(_ kind: String = "test", payload: String = "{}", priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 20, uniqueKey: String? = nil,
            key: String = "") -> NewJob {
    NewJob(kind: kind, payload: Data(payload.utf8), priority: priority, runAt: runAt, maxAttempts: maxAttempts, uniqueKey: uniqueKey, fairnessKey: key)
}

/// Waits for a condition with a deadline: the only way these tests synchronise with other processes.
func waitUntil(timeout: Duration, pollEvery: Duration = .milliseconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: pollEvery)
    }
    return try await condition()
}
