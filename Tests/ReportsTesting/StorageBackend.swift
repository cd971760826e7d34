import Foundation
package import JobQueue
import PostgresBackend
import PostgresTesting
package import QueueTesting
import SQLiteBackend
package import TestSupport

/// A storage backend the conformance suites run against. The suites take it as their argument and
/// use only the `JobQueue` protocol, so every backend runs the same tests.
package enum StorageBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    /// A database of the test's own on the throwaway cluster (`PostgresTestCluster`).
    case postgres

    package var description: String { rawValue }

    /// Runs `body` with a fresh, empty queue on this backend with a hand-moved clock, removed after.
    package func withQueue<Result: Sendable>(
        retryStrategy: JobRetryStrategy = .exponentialJitter(), fairness: FairnessPolicy = .standard,
        _ body: (QueueUnderTest) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .sqlite:
            let fixture = try QueueFixture(retryStrategy: retryStrategy, fairness: fairness)
            defer { fixture.remove() }
            return try await body(QueueUnderTest(queue: fixture.queue, clock: fixture.clock, sqlite: fixture))
        case .postgres:
            let clock = TestClock()
            return try await PostgresTestCluster.shared().withDatabase { database, _ in
                let queue = PostgresJobQueue(
                    database: database, retryStrategy: retryStrategy, fairness: fairness, now: { clock.now })
                return try await body(QueueUnderTest(queue: queue, clock: clock, sqlite: nil))
            }
        }
    }
}

/// A queue under test: the protocol, its clock, and (for the few checks that are the backend's own,
/// like its schema's constraints) the SQLite fixture when that is the backend.
package struct QueueUnderTest: Sendable {
    package let queue: any JobQueue
    package let clock: TestClock
    package let sqlite: QueueFixture?

    package func row(_ id: Int64) async throws -> JobRecord {
        try await queue.job(id: id)!
    }
}
