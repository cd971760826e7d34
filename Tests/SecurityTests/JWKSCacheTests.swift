import Foundation
import SecurityTesting
import Testing

@testable import Security

/// The key cache against a real HTTP server on loopback.
@Suite("JWKS cache over loopback HTTP")
struct JWKSCacheTests {
    @Test func oneFetchServesAThousandVerifications() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url)
            for _ in 0..<1000 { _ = try await verifier.verify(token: Secret(fits.validToken)) }
            #expect(server.hits == 1)
            #expect(await verifier.keys.fetchCount == 1)
        }
    }

    @Test func aNewKeyIdIsFetchedOnceSoRotationNeedsNoRestart() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            // Refetches are allowed at once here so the test does not wait 30 s; the limit has its own test.
            let verifier = fixtureVerifier(url: url, refetchInterval: .zero)
            _ = try await verifier.verify(token: Secret(fits.validToken))
            #expect(server.hits == 1)

            // Atlassian starts signing with a new key and publishes it.
            server.serve(fits.rotatedJWKSJSON)
            let identity = try await verifier.verify(token: Secret(fits.rotatedToken))
            #expect(identity.installationId == fits.installationId)
            #expect(server.hits == 2)
            for _ in 0..<50 {
                _ = try await verifier.verify(token: Secret(fits.rotatedToken))
                _ = try await verifier.verify(token: Secret(fits.validToken))
            }
            #expect(server.hits == 2, "both keys are cached now")

            // A key Atlassian withdraws stops verifying after the next refetch.
            server.serve(#"{"keys":[\#(String(decoding: try JSONEncoder().encode(fits.rotatedJWK), as: UTF8.self))]}"#)
            await #expect(throws: FITVerificationError.unknownKey) {
                try await verifier.verify(
                    token: Secret(withKid("forge/invocation-token/wf-never-seen", fits.validToken)))
            }
            await #expect(throws: FITVerificationError.unknownKey) {
                try await verifier.verify(token: Secret(fits.validToken))
            }
        }
    }

    @Test func aFloodOfUnknownKeyIdsCausesOneRefetchPerInterval() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let clock = MonotonicTestClock()
            let verifier = fixtureVerifier(url: url, clock: clock)
            _ = try await verifier.verify(token: Secret(fits.validToken))
            // Within 30 s of a fetch, unknown key ids cause no fetch at all.
            clock.advance(by: .seconds(29))
            #expect(await flood(verifier, count: 200, token: fits.validToken) == ["unknownKey": 200])
            #expect(server.hits == 1)
            // Once the interval has passed, 500 at once cause exactly one.
            clock.advance(by: .seconds(1))
            #expect(await flood(verifier, count: 500, token: fits.validToken) == ["unknownKey": 500])
            #expect(server.hits == 2, "the first fetch and one refetch, not 500")
            clock.advance(by: .seconds(29))
            #expect(await flood(verifier, count: 200, token: fits.validToken) == ["unknownKey": 200])
            #expect(server.hits == 2)
            clock.advance(by: .seconds(1))
            #expect(await flood(verifier, count: 10, token: fits.validToken) == ["unknownKey": 10])
            #expect(server.hits == 3)
            // Known keys keep working during the flood's aftermath.
            _ = try await verifier.verify(token: Secret(fits.validToken))
        }
    }

    func flood(_ verifier: FITVerifier, count: Int, token: String) async -> [String: Int] {
        await withTaskGroup(of: String.self) { group in
            for index in 0..<count {
                group.addTask {
                    do {
                        _ = try await verifier.verify(
                            token: Secret(withKid("forge/invocation-token/wf-flood-\(index)", token)))
                        return "accepted"
                    } catch {
                        return (error as? FITVerificationError)?.code ?? "\(error)"
                    }
                }
            }
            var codes: [String: Int] = [:]
            for await code in group { codes[code, default: 0] += 1 }
            return codes
        }
    }

    @Test func itFailsClosedWhenTheKeysCannotBeFetchedAndNothingIsCached() async throws {
        let fits = Fixtures.fits
        // A port nobody listens on: bind a server, note its port, stop it.
        let deadURL = try await JWKSServer(body: "").run { url in url }
        let verifier = fixtureVerifier(url: deadURL)
        await #expect(throws: FITVerificationError.jwksUnavailable) {
            try await verifier.verify(token: Secret(fits.validToken))
        }

        // A server that answers with an error or garbage is no better.
        let broken = JWKSServer(body: "not json")
        try await broken.run { url in
            let verifier = fixtureVerifier(url: url)
            await #expect(throws: FITVerificationError.jwksUnavailable) {
                try await verifier.verify(token: Secret(fits.validToken))
            }
            broken.serve(fits.jwksJSON, status: 503)
            await #expect(throws: FITVerificationError.jwksUnavailable) {
                try await verifier.verify(token: Secret(fits.validToken))
            }
        }
    }

    @Test func cachedKeysKeepWorkingWhenTheServerGoesAway() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url, refetchInterval: .zero)
            _ = try await verifier.verify(token: Secret(fits.validToken))
            server.serve("", status: 500)
            _ = try await verifier.verify(token: Secret(fits.validToken))
            await #expect(throws: FITVerificationError.unknownKey) {
                try await verifier.verify(token: Secret(withKid("forge/invocation-token/wf-other", fits.validToken)))
            }
        }
    }
}

/// The token with another `kid` in its header (its signature no longer matches, but the key lookup
/// comes first).
func withKid(_ kid: String, _ token: String) -> String {
    let parts = token.split(separator: ".")
    let header = #"{"alg":"RS256","kid":"\#(kid)","typ":"JWT"}"#
    return Base64URL.encode(Data(header.utf8)) + "." + parts[1] + "." + parts[2]
}
