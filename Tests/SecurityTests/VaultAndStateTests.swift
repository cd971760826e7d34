import Crypto
import Foundation
import SecurityTesting
import Testing

@testable import Security

@Suite("Token vault and OAuth state")
struct VaultAndStateTests {
    func fixtureVault() throws -> (TokenVault, Fixtures.Vault) {
        let fixture: Fixtures.Vault = try Fixtures.load("vault.json")
        return (TokenVault(keys: try TokenKeyRing(environment: ["REPORTS_TOKEN_KEYS": fixture.keys])), fixture)
    }

    @Test func ciphertextsMadeByPythonOpenOrFailAsExpected() throws {
        let (vault, fixture) = try fixtureVault()
        for item in fixture.cases {
            let sealed = try #require(Base64URL.decode(item.ciphertext), "\(item.name)")
            let context = VaultContext(purpose: "", owner: []).with(associatedData: item.context)
            if item.expect == "ok" {
                #expect(try vault.open(sealed, context: context).revealed == item.plaintext, "\(item.name)")
            } else {
                #expect(throws: TokenVaultError.self, "\(item.name)") { try vault.open(sealed, context: context) }
            }
        }
    }

    @Test func sealOpensOnlyForItsOwnerAndPurposeWithAFreshNonceEachTime() throws {
        let (vault, _) = try fixtureVault()
        let token = Secret("refresh-token-value")
        let mine = VaultContext.microsoftRefreshToken(installationId: "inst-1", accountId: "acct-1")
        let first = try vault.seal(token, context: mine)
        let second = try vault.seal(token, context: mine)
        #expect(first != second, "a random nonce per encryption")
        #expect(try vault.open(first, context: mine) == token)
        #expect(try TokenVault.keyId(of: first) == "k2026a")
        #expect(first.count == 1 + 1 + 6 + 12 + token.revealed.utf8.count + 16)
        for other in [
            VaultContext.microsoftRefreshToken(installationId: "inst-1", accountId: "acct-2"),
            VaultContext.microsoftRefreshToken(installationId: "inst-2", accountId: "acct-1"),
            VaultContext.atlassianSystemToken(installationId: "inst-1"),
        ] {
            #expect(throws: TokenVaultError.authenticationFailed) { try vault.open(first, context: other) }
        }
        // Every single-bit flip anywhere fails.
        for index in 0..<first.count {
            var tampered = first
            tampered[tampered.startIndex + index] ^= 0x04
            #expect(throws: TokenVaultError.self) { try vault.open(tampered, context: mine) }
        }
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation" (the NIST GCM submission), test cases 13,
    /// 14 and 16: 256-bit keys. Checked through the vault's sealing primitive.
    @Test func nistAESGCMKnownAnswers() throws {
        struct Vector { let key, iv, plaintext, aad, ciphertext, tag: String }
        let vectors = [
            Vector(
                key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12), plaintext: "", aad: "",
                ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
            Vector(
                key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
                plaintext: String(repeating: "00", count: 16), aad: "",
                ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
            Vector(
                key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", iv: "cafebabefacedbaddecaf888",
                plaintext:
                    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                ciphertext:
                    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
        ]
        for vector in vectors {
            let sealed = try TokenVault.aesGCMSeal(
                hex(vector.plaintext), key: SymmetricKey(data: hex(vector.key)),
                nonce: AES.GCM.Nonce(data: hex(vector.iv)),
                associatedData: hex(vector.aad))
            #expect(sealed == hex(vector.iv) + hex(vector.ciphertext) + hex(vector.tag))
        }
    }

    @Test func statesMadeByPythonVerifyOrFailAsExpected() throws {
        let fixture: Fixtures.OAuthStates = try Fixtures.load("oauth-state.json")
        let verifier = OAuthState(
            key: SymmetricKey(data: Data(base64Encoded: fixture.stateKey)!),
            now: { Date(timeIntervalSince1970: fixture.verifyAt) })
        for item in fixture.cases {
            switch item.expect {
            case "ok": #expect(try verifier.verify(item.state) == item.fields, "\(item.name)")
            case "expired": #expect(throws: OAuthStateError.expired, "\(item.name)") { try verifier.verify(item.state) }
            default: #expect(throws: OAuthStateError.invalid, "\(item.name)") { try verifier.verify(item.state) }
            }
        }
    }

    @Test func secretsAreRedactedInEveryTextForm() throws {
        let secret = Secret("canary-7d1f")
        #expect("\(secret)" == "<redacted>")
        #expect(String(describing: secret) == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("canary"))
        struct Carrier: Codable { let token: Secret }
        let json = String(decoding: try JSONEncoder().encode(Carrier(token: secret)), as: UTF8.self)
        #expect(json == #"{"token":"<redacted>"}"#)
        #expect(try JSONDecoder().decode(Carrier.self, from: Data(#"{"token":"abc"}"#.utf8)).token.revealed == "abc")
        #expect("\([secret])".contains("canary") == false)
        #expect("\(Optional(secret) as Any)".contains("canary") == false)
    }
}

extension VaultContext {
    /// The fixtures give the associated data as one string.
    func with(associatedData: String) -> VaultContext { VaultContext(purpose: associatedData, owner: []) }
}

func hex(_ text: String) -> Data {
    var data = Data()
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        data.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return data
}

@Suite("Base64url")
struct Base64URLTests {
    @Test func roundTripsAndMatchesFoundation() {
        var generator = SplitMix64(state: 7)
        for length in 0..<200 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let encoded = Base64URL.encode(bytes)
            let foundation = bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(encoded == foundation)
            #expect(Base64URL.decode(encoded) == bytes)
            #expect(Base64URL.isCanonical(encoded))
        }
    }

    @Test func refusesPaddingForeignCharactersImpossibleLengthsAndNonCanonicalSpellings() {
        for text in ["QQ==", "QQ=", "a+b/", "a b", "A", "AAAAA", "QR", "QUF", "QUG"] {
            #expect(Base64URL.decode(text) == nil, "\(text)")
            #expect(!Base64URL.isCanonical(text), "\(text)")
        }
        #expect(Base64URL.decode("QQ") == Data("A".utf8))
        #expect(Base64URL.decode("QUE") == Data("AA".utf8))
        #expect(Base64URL.decode("") == Data())
    }
}
