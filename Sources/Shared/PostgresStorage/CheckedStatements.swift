public import Logging
public import PostgresNIO

/// Sending a statement on a connection that has just closed is never answered: PostgresNIO writes it to
/// a channel whose handlers are gone, and the write's failure reaches no one, so the caller waits for
/// ever (a worker hung this way when the server restarted between two statements of a lease). These
/// check first and throw `PostgresConnectionLost`, which the queue treats as "storage unavailable": it
/// backs off, keeps its outcomes and tries again on a new connection. Every statement of ours goes
/// through them.
extension PostgresConnection {
    @discardableResult
    public func checkedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionLost() }
        return try await self.query(query, logger: logger)
    }

    public func checkedExecute<Statement: PostgresPreparedStatement, Row>(_ statement: Statement, logger: Logger)
        async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row
    {
        guard !isClosed else { throw PostgresConnectionLost() }
        return try await execute(statement, logger: logger)
    }

    @discardableResult
    public func checkedExecute<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger)
        async throws -> String where Statement.Row == ()
    {
        guard !isClosed else { throw PostgresConnectionLost() }
        return try await execute(statement, logger: logger)
    }
}

/// The connection closed before a statement could be sent on it.
public struct PostgresConnectionLost: Error, CustomStringConvertible {
    public var description: String { "the connection to PostgreSQL closed" }
}
