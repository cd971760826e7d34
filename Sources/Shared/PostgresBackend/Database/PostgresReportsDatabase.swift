public import Logging
public import PostgresNIO
import ReportsSupport
public import ServiceLifecycle

/// The PostgreSQL backend's one owner of the connection pool (docs/postgresql.md), like
/// `ReportsDatabase` for SQLite: the queue and the stores take it and run their statements through it.
///
/// It is a `Service`: each process adds it to its `ServiceGroup`, which runs the pool's background work
/// (connecting, keep-alives, reconnecting after the server restarted) and closes it at shutdown.
public struct PostgresReportsDatabase: Service, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let client: PostgresClient
    public let settings: PostgresSettings
    package let logger: Logger

    public init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
    }

    /// Never the password: this is what ServiceLifecycle logs when the service starts.
    public var description: String { "PostgresReportsDatabase(\(settings))" }
    public var debugDescription: String { description }

    public func run() async throws {
        await client.run()
    }

    /// Runs `body` in one transaction on one pooled connection: committed when it returns, rolled back
    /// when it throws, and the body's own error is rethrown unwrapped (PostgresNIO's `withTransaction`
    /// wraps it, which would hide a `JobQueueError` from the caller).
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.checkedQuery("BEGIN", logger: logger)
            let result: Result
            do {
                result = try await body(connection)
            } catch {
                // Only on a live connection: a statement written to a closed one is never answered
                // (PostgresNIO drops it), so a ROLLBACK after the server went away waited for ever — a
                // worker hung this way through a server restart. A closed session rolls back anyway.
                if !connection.isClosed && !PostgresAvailability.isConnectionLost(error) {
                    _ = try? await connection.checkedQuery("ROLLBACK", logger: logger)
                }
                throw error
            }
            try await connection.checkedQuery("COMMIT", logger: logger)
            return result
        }
    }

    /// Runs `body` on one pooled connection outside a transaction (reads, single statements).
    public func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in try await body(connection) }
    }

    /// Runs `body` with a client of its own whose pool runs only meanwhile: for one-shot commands
    /// (`enqueuer migrate`) and the schema check a process makes before its services start (a
    /// `PostgresClient` runs once, so the long-lived one cannot be borrowed for it).
    /// A server that does not answer within `connectWithin` fails with `StoreError.cannotOpen` instead
    /// of the pool's endless reconnecting (right for a long-running worker, wrong for a command).
    public static func withTemporaryClient<Result: Sendable>(
        settings: PostgresSettings, logger: Logger, connectWithin: Duration = .seconds(10),
        _ body: (PostgresReportsDatabase) async throws -> Result
    ) async throws -> Result {
        let database = try PostgresReportsDatabase(settings: settings, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            try await database.waitUntilReachable(within: connectWithin)
            return try await body(database)
        }
    }

    /// Returns once the server answers; throws `StoreError.cannotOpen` after `timeout`.
    public func waitUntilReachable(within timeout: Duration) async throws {
        let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try await withConnection { connection in
                    try await connection.checkedQuery("SELECT 1", logger: logger)
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
        guard answered else {
            throw StoreError.cannotOpen(
                "the PostgreSQL server did not answer within \(timeout) (is it running and reachable?)")
        }
    }

    /// Whether the server answers at all (readiness).
    public func isReachable() async -> Bool {
        do {
            return try await withConnection { connection in
                try await connection.checkedQuery("SELECT 1", logger: logger).collect().count == 1
            }
        } catch {
            return false
        }
    }
}
