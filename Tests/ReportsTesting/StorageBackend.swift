import Foundation
package import JobQueue
import JobQueueSQLite
import SQLiteStorage

/// A storage backend the conformance suites run against. The suites take it as their argument and
/// use only the `JobQueue` protocol, so the next backend (PostgreSQL, issue #16) adds a case here and
/// runs the same tests.
package enum StorageBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite

    package var description: String { rawValue }

    /// A fresh, empty queue on this backend with a hand-moved clock.
    package func makeQueue(
        retryStrategy: JobRetryStrategy = .exponentialJitter(), fairness: FairnessPolicy = .standard
    ) throws -> QueueUnderTest {
        switch self {
        case .sqlite:
            let fixture = try QueueFixture(retryStrategy: retryStrategy, fairness: fairness)
            return QueueUnderTest(queue: fixture.queue, clock: fixture.clock, sqlite: fixture, remove: fixture.remove)
        }
    }
}

/// A queue under test: the protocol, its clock, and (for the few checks that are the backend's own,
/// like its schema's constraints) the SQLite fixture when that is the backend.
package struct QueueUnderTest: Sendable {
    package let queue: any JobQueue
    package let clock: TestClock
    package let sqlite: QueueFixture?
    package let remove: @Sendable () -> Void

    package func row(_ id: Int64) async throws -> JobRecord {
        try await queue.job(id: id)!
    }
}
