package import Foundation
package import JobQueue
package import SQLiteBackend
import ServiceLifecycle
package import TestSupport

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
    key: String = "",
    exclusive: String? = nil
) -> NewJob {
    NewJob(
        kind: kind, payload: Data(payload.utf8), priority: priority, runAt: runAt, maxAttempts: maxAttempts,
        uniqueKey: uniqueKey, fairnessKey: key, exclusiveKey: exclusive)
}

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
