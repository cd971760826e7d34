package import Foundation
package import JobQueue
package import Logging
import ReportsSupport
package import SQLiteBackend
import ServiceLifecycle
import Synchronization

/// A fresh directory under the system temp folder; each test removes its own.
package struct TemporaryDirectory: Sendable {
    package let path: String

    package init() {
        var template = Array((NSTemporaryDirectory() + "reports-tests-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand, so lease expiry and backoff are checked without waiting.
package final class TestClock: Sendable {
    private let current: Mutex<Date>

    package init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    package var now: Date { current.withLock { $0 } }

    package func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }
}

/// A migrated database in a temporary directory, with a queue on a test clock.
package struct QueueFixture: Sendable {
    package let directory: TemporaryDirectory
    package let clock: TestClock
    package let database: ReportsDatabase
    package let queue: SQLiteJobQueue

    package init(
        retryStrategy: JobRetryStrategy = .exponentialJitter(), realClock: Bool = false,
        fairness: FairnessPolicy = .standard
    ) throws {
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

    package func remove() { directory.remove() }

    package func row(_ id: Int64) async throws -> JobRecord {
        try await queue.job(id: id)!
    }
}

package func diagnostic(
    _ parameters: DiagnosticJob.Parameters = .init(), priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 20,
    uniqueKey: String? = nil
) throws -> NewJob {
    try NewJob(
        kind: DiagnosticJob.kind, parameters: parameters, priority: priority, runAt: runAt, maxAttempts: maxAttempts,
        uniqueKey: uniqueKey)
}

package func rawJob(
    _ kind: String = "test", payload: String = "{}", priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 20,
    uniqueKey: String? = nil,
    key: String = ""
) -> NewJob {
    NewJob(
        kind: kind, payload: Data(payload.utf8), priority: priority, runAt: runAt, maxAttempts: maxAttempts,
        uniqueKey: uniqueKey, fairnessKey: key)
}

/// Waits for a condition with a deadline: the only way these tests synchronise with other processes.
package func waitUntil(timeout: Duration, pollEvery: Duration = .milliseconds(10), _ condition: () async throws -> Bool)
    async throws -> Bool
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: pollEvery)
    }
    return try await condition()
}

/// A logger that drops everything, for code under test that must be handed one.
package let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Runs `runtime` in a real ServiceGroup around `body`, then shuts it down gracefully.
package func withRuntime(_ runtime: WorkerRuntime, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(configuration: .init(services: [runtime], logger: silentLogger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
