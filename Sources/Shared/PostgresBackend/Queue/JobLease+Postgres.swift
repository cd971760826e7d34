public import JobQueue
public import Logging
public import PostgresNIO

extension JobLease {
    /// Throws `LeaseLostError` unless this lease still holds, inside the caller's transaction. The job's
    /// row is locked `FOR SHARE` until the transaction ends, so the lease cannot be reclaimed or settled
    /// between this check and the caller's writes (SQLite gets the same from its single writer).
    public func requireHeld(on connection: PostgresConnection, logger: Logger) async throws {
        let held =
            try await connection.checkedQuery(
                "SELECT 1 FROM jobs WHERE id = \(jobId) AND state = 'running' AND lease_token = \(token) FOR SHARE",
                logger: logger
            ).collect().count == 1
        guard held else { throw LeaseLostError() }
    }
}
