import Crypto
import Foundation
import GRDB
import QueueTesting
import TestSupport
import Testing

@testable import SQLiteBackend
@testable import Security

/// `OAuthNonceStore` over the SQLite file: a state's nonce is spent once, expired and forged states
/// are refused, and only the spent nonces are kept until they expire.
@Suite("OAuth nonces on SQLite")
struct OAuthNonceStoreTests {
    @Test func issuedStatesLastTenMinutesAndTheirNonceIsConsumedOnce() async throws {
        let fixture = try QueueFixture()
        defer { fixture.remove() }
        let clock = fixture.clock
        let state = OAuthState(key: SymmetricKey(size: .bits256), now: { clock.now })
        let issued = state.issue(installationId: "ari:cloud:ecosystem::installation/1", accountId: "557058:abc")
        #expect(issued.fields.exp == Int64(clock.now.timeIntervalSince1970) + 600)
        #expect(issued.codeVerifier.revealed.count == 43)
        #expect(issued.codeChallenge == OAuthState.challenge(for: state.codeVerifier(nonce: issued.fields.nonce)))

        let nonces = OAuthNonceStore(database: fixture.database, now: { clock.now })
        #expect(try await nonces.consume(issued.state, verifier: state) == issued.fields)
        await #expect(throws: OAuthStateError.replayed) { try await nonces.consume(issued.state, verifier: state) }

        let later = state.issue(installationId: "i", accountId: "a")
        clock.advance(by: .seconds(600))
        await #expect(throws: OAuthStateError.expired) { try await nonces.consume(later.state, verifier: state) }
        // A state made with another key is refused, whatever it says.
        let forged = OAuthState(key: SymmetricKey(size: .bits256), now: { clock.now }).issue(
            installationId: "i", accountId: "a")
        await #expect(throws: OAuthStateError.invalid) { try await nonces.consume(forged.state, verifier: state) }
        // Nothing but the one consumed nonce was stored, and expired ones are swept.
        let stored = try await fixture.database.pool.read {
            try Int.fetchOne($0, sql: "SELECT count(*) FROM oauth_nonces")
        }
        #expect(stored == 1)
        clock.advance(by: .seconds(1))
        let again = state.issue(installationId: "i", accountId: "a")
        _ = try await nonces.consume(again.state, verifier: state)
        let remaining = try await fixture.database.pool.read {
            try String.fetchAll($0, sql: "SELECT nonce FROM oauth_nonces")
        }
        #expect(remaining == [again.fields.nonce])
    }
}
