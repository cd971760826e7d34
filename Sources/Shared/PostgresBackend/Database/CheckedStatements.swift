public import Logging
import NIOCore
public import PostgresNIO

/// A statement written to a connection that has just closed is never answered: PostgresNIO writes it
/// with no write promise, and once the channel has removed its handlers (the turn after it closed) the
/// write fails where no one hears it, so the caller waits for ever. A worker hung this way when the
/// server restarted between two statements of a lease (docs/postgresql.md, "A statement sent
/// as the connection closes").
///
/// Checking `isClosed` first is not enough on its own: from a pool thread the channel can close between
/// the check and the moment the event loop handles the write. So the check and the write run together
/// on the connection's event loop (a task executor preference over that loop, `EventLoopTaskExecutor`):
/// PostgresNIO's `query`/`execute` write synchronously before their first suspension, and the loop cannot
/// process the close in between. A closed connection throws `PostgresConnectionLost`, which the queue
/// treats as "storage unavailable": it backs off, keeps its outcomes and tries again on a new connection.
/// Every statement of ours goes through these.
extension PostgresConnection {
    @discardableResult
    public func checkedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await sendingOnEventLoop { try await self.query(query, logger: logger) }
    }

    public func checkedExecute<Statement: PostgresPreparedStatement, Row>(_ statement: Statement, logger: Logger)
        async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row
    {
        try await sendingOnEventLoop { try await self.execute(statement, logger: logger) }
    }

    @discardableResult
    public func checkedExecute<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger)
        async throws -> String where Statement.Row == ()
    {
        try await sendingOnEventLoop { try await self.execute(statement, logger: logger) }
    }

    private func sendingOnEventLoop<Result>(_ send: () async throws -> Result) async throws -> Result {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
            guard !isClosed else { throw PostgresConnectionLost() }
            return try await send()
        }
    }
}

/// The connection closed before a statement could be sent on it.
public struct PostgresConnectionLost: Error, CustomStringConvertible {
    public var description: String { "the connection to PostgreSQL closed" }
}
