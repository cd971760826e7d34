import Foundation
import SecurityTesting
import Testing

@testable import Security

/// Forge Invocation Tokens made by PyJWT (Tests/Fixtures), verified against a JWKS served over real HTTP.
@Suite("FIT verification")
struct FITVerifierTests {
    @Test func everyFixtureGivesItsExpectedResult() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url)
            for fixture in fits.cases {
                do {
                    let identity = try await verifier.verify(authorization: Secret("Bearer " + fixture.token))
                    #expect(fixture.expect == "ok", "\(fixture.name): accepted, expected \(fixture.expect)")
                    #expect(identity.installationId == fits.installationId)
                    #expect(identity.appId == fits.appId)
                    #expect(identity.cloudId == fits.cloudId)
                    #expect(identity.apiBaseUrl.absoluteString == fits.apiBaseUrl)
                } catch {
                    let code = (error as? FITVerificationError)?.code ?? "\(error)"
                    #expect(code == fixture.expect, "\(fixture.name): \(code), expected \(fixture.expect)")
                }
            }
        }
    }

    @Test func theIdentityCarriesTheDocumentedClaims() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url)
            let user = try await verifier.verify(token: Secret(fits.validToken))
            #expect(user.principalAccountId == fits.accountId)
            #expect(user.environmentType == "PRODUCTION")
            #expect(user.moduleType == "core:endpoint")
            #expect(user.expiresAt == Date(timeIntervalSince1970: fits.verifyAt + 20))
            let trigger = try await verifier.verify(
                token: Secret(fits.cases.first { $0.name == "scheduled trigger without principal" }!.token))
            #expect(trigger.principalAccountId == nil)
            #expect(trigger.moduleType == "core:trigger")
        }
    }

    @Test func theAuthorizationHeaderMustBeABearerToken() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url)
            for header in [nil, "", "Bearer", "Bearer ", "Basic " + fits.validToken, fits.validToken] as [String?] {
                await #expect(throws: FITVerificationError.malformed) {
                    try await verifier.verify(authorization: header.map(Secret.init))
                }
            }
            _ = try await verifier.verify(authorization: Secret("bearer " + fits.validToken))
            #expect(server.hits == 1)
        }
    }

    @Test func replayedTokensAreRefusedOnlyWhenTheCacheIsOn() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let lenient = fixtureVerifier(url: url)
            _ = try await lenient.verify(token: Secret(fits.validToken))
            _ = try await lenient.verify(token: Secret(fits.validToken))

            let strict = fixtureVerifier(url: url, rejectReplayed: true)
            _ = try await strict.verify(token: Secret(fits.validToken))
            await #expect(throws: FITVerificationError.replayed) {
                try await strict.verify(token: Secret(fits.validToken))
            }
        }
    }

    /// 10,000 random and mutated byte strings: never a crash, never an acceptance.
    @Test func randomAndMutatedTokensAreAlwaysRejected() async throws {
        let fits = Fixtures.fits
        let server = JWKSServer(body: fits.jwksJSON)
        try await server.run { url in
            let verifier = fixtureVerifier(url: url)
            var generator = SplitMix64(state: 20_261_129)
            let valid = Array(fits.validToken.utf8)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"".utf8)
            var codes: [String: Int] = [:]
            for round in 0..<10_000 {
                var bytes: [UInt8]
                switch round % 5 {
                case 0:  // random bytes of random length
                    bytes = (0..<Int.random(in: 0...600, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    }
                case 1:  // random characters from the token alphabet, with dots
                    bytes = (0..<Int.random(in: 0...2000, using: &generator)).map { _ in
                        alphabet.randomElement(using: &generator)!
                    }
                case 2:  // the valid token with 1-4 bytes replaced
                    bytes = valid
                    for _ in 0..<Int.random(in: 1...4, using: &generator) {
                        let index = Int.random(in: 0..<bytes.count, using: &generator)
                        var replacement = alphabet.randomElement(using: &generator)!
                        while replacement == bytes[index] { replacement = alphabet.randomElement(using: &generator)! }
                        bytes[index] = replacement
                    }
                case 3:  // the valid token truncated or extended
                    bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &generator)))
                    if Bool.random(using: &generator) {
                        bytes += (0..<Int.random(in: 1...40, using: &generator)).map { _ in
                            alphabet.randomElement(using: &generator)!
                        }
                    }
                default:  // parts of the valid token shuffled or duplicated
                    var parts = fits.validToken.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    parts.shuffle(using: &generator)
                    if Bool.random(using: &generator) { parts.append(parts[0]) }
                    bytes = Array(parts.joined(separator: ".").utf8)
                    if bytes == valid { bytes.removeLast() }
                }
                let text = String(decoding: bytes, as: UTF8.self)
                do {
                    _ = try await verifier.verify(token: Secret(text))
                    Issue.record("accepted a mutated token (round \(round))")
                } catch {
                    codes[(error as? FITVerificationError)?.code ?? "\(error)", default: 0] += 1
                }
            }
            #expect(codes.values.reduce(0, +) == 10_000)
            #expect(codes["badSignature", default: 0] > 0, "mutations reached the signature check: \(codes)")
        }
    }

    /// `app.license` is read leniently: only a boolean `isActive` counts, and a claim of another shape
    /// leaves the token valid, saying nothing about the licence.
    @Test func aLicenceClaimOfAnotherShapeSaysNothingAndRefusesNothing() throws {
        let decode = { (json: String) in try JSONDecoder().decode(FITPayload.App.License.self, from: Data(json.utf8)) }
        #expect(try decode(#"{"isActive":true,"type":"commercial"}"#).isActive == true)
        #expect(try decode(#"{"isActive":false}"#).isActive == false)
        for odd in [#"{"isActive":"yes"}"#, #"{}"#, #""active""#, "[true]", "42"] {
            #expect(try decode(odd).isActive == nil, "\(odd)")
        }
    }
}
