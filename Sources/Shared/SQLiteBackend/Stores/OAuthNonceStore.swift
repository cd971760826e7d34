public import Foundation
import GRDB
import ReportsSupport
public import Security

/// Single use of OAuth state nonces: an atomic insert into `oauth_nonces` succeeds once per nonce.
public struct OAuthNonceStore: Sendable {
    public let database: ReportsDatabase
    private let now: @Sendable () -> Date

    public init(database: ReportsDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    /// Verifies `state` and consumes its nonce; a second use of the same state fails with `.replayed`.
    public func consume(_ state: String, verifier: OAuthState) async throws -> OAuthState.Fields {
        let fields = try verifier.verify(state)
        let nowMs = Timestamp.milliseconds(now())
        let fresh = try await database.pool.write { db -> Bool in
            // Nonces past their state's lifetime can never be presented again; drop them on the way.
            try db.execute(sql: "DELETE FROM oauth_nonces WHERE expires_at < ?", arguments: [nowMs])
            try db.execute(
                sql: """
                    INSERT INTO oauth_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING
                    """, arguments: [fields.nonce, fields.exp * 1000])
            return db.changesCount == 1
        }
        guard fresh else { throw OAuthStateError.replayed }
        return fields
    }
}
