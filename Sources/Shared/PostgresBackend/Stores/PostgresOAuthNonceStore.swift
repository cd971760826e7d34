public import Foundation
import PostgresNIO
public import Reports
import ReportsSupport
public import Security

/// Single use of OAuth state nonces on PostgreSQL: an insert that conflicts on the nonce inserts
/// nothing, so exactly one consumer across every host gets a row back (`OAuthNonceStore` on SQLite).
public struct PostgresOAuthNonceStore: OAuthNonces {
    public let database: PostgresReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: PostgresReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    public func consume(_ state: String, verifier: OAuthState) async throws -> OAuthState.Fields {
        let fields = try verifier.verify(state)
        let nowMs = Timestamp.milliseconds(now())
        let logger = database.logger
        let fresh = try await database.withTransaction { connection in
            // Nonces past their state's lifetime can never be presented again; drop them on the way.
            try await connection.checkedQuery("DELETE FROM oauth_nonces WHERE expires_at < \(nowMs)", logger: logger)
            return try await connection.checkedQuery(
                """
                INSERT INTO oauth_nonces (nonce, expires_at) VALUES (\(fields.nonce), \(fields.exp * 1000))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger
            ).collect().count == 1
        }
        guard fresh else { throw OAuthStateError.replayed }
        return fields
    }
}
