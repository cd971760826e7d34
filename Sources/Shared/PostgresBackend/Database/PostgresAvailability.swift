public import PostgresNIO

/// Tells a PostgreSQL that cannot be used right now (down, restarting, out of connections or disk)
/// from a bug, like `StorageAvailability` does for SQLite: such errors pass, so workers back
/// off and keep their jobs and the API answers 503 with `Retry-After`.
public enum PostgresAvailability {
    /// SQLSTATE classes and codes meaning "not now" (https://www.postgresql.org/docs/15/errcodes-appendix.html):
    /// class 08 (connection exception), class 53 (insufficient resources: disk full, out of memory, too
    /// many connections), 57P01–57P03 (administrator or crash shutdown, cannot connect now), 40001 and
    /// 40P01 (serialization failure, deadlock: retry), 55P03 (lock not available).
    public static func reason(_ error: any Error) -> String? {
        if error is PostgresConnectionLost { return "connection_lost" }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
            return "connection_lost"
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            if state == "53100" { return "disk_full" }
            if state == "53300" { return "too_many_connections" }
            if state.hasPrefix("08") || state.hasPrefix("57P") { return "connection_lost" }
            if state.hasPrefix("53") { return "out_of_resources" }
            if state == "40001" || state == "40P01" || state == "55P03" { return "locked" }
            return nil
        default:
            return nil
        }
    }

    /// Whether `error` says the connection itself is gone (nothing more can be sent on it).
    public static func isConnectionLost(_ error: any Error) -> Bool {
        if error is PostgresConnectionLost { return true }
        guard let error = error as? PSQLError else { return false }
        return [.connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection].contains(
            error.code)
    }

    /// A description safe for logs and operator messages: the error's kind and SQLSTATE, never the
    /// server's message (it can quote a value: `invalid input syntax for type integer: "…"`), the SQL or
    /// its parameters.
    public static func describe(_ error: PSQLError) -> String {
        if let state = error.serverInfo?[.sqlState] { return "PostgreSQL error SQLSTATE \(state)" }
        return "PostgreSQL client error (\(error.code))"
    }
}
