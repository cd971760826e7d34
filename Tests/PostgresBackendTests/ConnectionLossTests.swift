import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresBackend
import PostgresNIO
import PostgresTesting
import Synchronization
import Testing

/// A statement sent on a connection that is closing must end with an error, never wait for ever (issue
/// #16: a worker hung after `pg_ctl restart -m fast`, about one run in eight under load). The race needs
/// the close to be handled between the "is it open?" check and the write, a window of microseconds; the
/// test opens it on purpose. Its statement's bindings are made inside PostgresNIO's `execute`, after our
/// check and just before the write, and making them closes the connection as early as the event loop can
/// see it: at once (waiting for the close to finish) when sent from another thread, or in the loop's next
/// turn when sent from the loop itself. Before the fix the check ran on a pool thread, the write landed
/// after the close and the statement was never answered.
@Suite("PostgreSQL connection loss")
struct ConnectionLossTests {
    @Test func aStatementSentAsTheConnectionClosesEndsWithAnError() async throws {
        let cluster = try await PostgresTestCluster.shared()
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .critical
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(),
            configuration: .init(
                unixSocketPath: "\(cluster.directory)/.s.PGSQL.\(cluster.port)", username: "reports", password: nil,
                database: "postgres"),
            id: 1, logger: logger)
        #expect(try await connection.checkedExecute(SelectOne(), logger: logger).collect() == [1])

        let statement = SelectOne {
            let loop = connection.eventLoop
            if loop.inEventLoop {
                loop.execute { connection.close().whenComplete { _ in } }
            } else {
                try? connection.close().wait()
            }
        }
        let outcome = StatementOutcome { [logger] in
            try await connection.checkedExecute(statement, logger: logger).collect()
        }
        let ended = try #require(await outcome.ended(within: .seconds(20)), "the statement was never answered")
        #expect(ended is PSQLError || ended is PostgresConnectionLost, "ended with \(ended)")
        #expect(connection.isClosed)
    }
}

/// `SELECT 1`, calling `whileSending` as PostgresNIO makes its bindings.
private struct SelectOne: PostgresPreparedStatement {
    static let sql = "SELECT 1"
    typealias Row = Int32
    var whileSending: @Sendable () -> Void = {}

    func makeBindings() throws -> PostgresBindings {
        whileSending()
        return PostgresBindings()
    }

    func decodeRow(_ row: PostgresRow) throws -> Int32 { try row.decode(Int32.self) }
}

/// Runs a statement as a task of its own on purpose: a statement that is never answered would keep a
/// child task, and with it the test, waiting for ever; the test must be able to say "never answered".
private final class StatementOutcome: Sendable {
    private let error = Mutex<(any Error)?>(nil)
    private let hasEnded = Atomic<Bool>(false)

    init(_ statement: @escaping @Sendable () async throws -> some Sendable) {
        Task { [self] in
            do {
                _ = try await statement()
            } catch {
                self.error.withLock { $0 = error }
            }
            self.hasEnded.store(true, ordering: .releasing)
        }
    }

    /// The error the statement ended with (`NoError` if it succeeded), or nil if it has not ended.
    func ended(within limit: Duration) async throws -> (any Error)? {
        let deadline = ContinuousClock.now + limit
        while !hasEnded.load(ordering: .acquiring) {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        let thrown: (any Error)? = error.withLock { $0 }
        return thrown ?? NoError()
    }

    struct NoError: Error {}
}

extension AsyncSequence where Self: Sendable {
    fileprivate func collect() async throws -> [Element] { try await reduce(into: []) { $0.append($1) } }
}
