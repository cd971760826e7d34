import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
@testable import Security
@testable import Transport

/// The fixtures `Tests/Fixtures/make_fixtures.py` made with Python's `cryptography` and PyJWT.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    struct ForgeFITs: Decodable {
        struct Case: Decodable { let name: String; let token: String; let expect: String }
        struct JWKS: Codable { let keys: [[String: String]] }
        let appId: String
        let installationId: String
        let cloudId: String
        let accountId: String
        let apiBaseUrl: String
        let verifyAt: Double
        let jwks: JWKS
        let privateKeyPEM: String
        let rotatedJWK: [String: String]
        let rotatedToken: String
        let cases: [Case]

        var validToken: String { cases.first { $0.name == "valid" }!.token }
        var jwksJSON: String { String(decoding: try! JSONEncoder().encode(jwks), as: UTF8.self) }
        var rotatedJWKSJSON: String {
            String(decoding: try! JSONEncoder().encode(JWKS(keys: jwks.keys + [rotatedJWK])), as: UTF8.self)
        }
    }

    struct Vault: Decodable {
        struct Case: Decodable { let name: String; let ciphertext: String; let context: String; let expect: String; let plaintext: String? }
        let keys: String
        let cases: [Case]
    }

    struct OAuthStates: Decodable {
        struct Case: Decodable { let name: String; let state: String; let expect: String; let fields: OAuthState.Fields? }
        let stateKey: String
        let verifyAt: Double
        let cases: [Case]
    }

    static let fits: ForgeFITs = try! load("forge-fits.json")
}

/// A real HTTP server on loopback that serves a JWKS the test can change, and counts requests.
final class JWKSServer: Sendable {
    private let state: Mutex<(body: String, status: Int, hits: Int)>

    init(body: String) { state = Mutex((body, 200, 0)) }

    var hits: Int { state.withLock { $0.hits } }
    func serve(_ body: String, status: Int = 200) { state.withLock { $0.body = body; $0.status = status } }

    private func nextResponse() -> (String, Int) {
        state.withLock { state in
            state.hits += 1
            return (state.body, state.status)
        }
    }

    /// Runs `body` with the server listening; `url` is its JWKS address.
    func run<T: Sendable>(_ body: @Sendable (_ url: URL) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/.well-known/jwks.json") { [self] _, _ -> Response in
            let (text, status) = self.nextResponse()
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        return try await app.test(.live) { client in
            try await body(URL(string: "http://127.0.0.1:\(client.port!)/.well-known/jwks.json")!)
        }
    }
}

/// A verifier for the fixtures' app, at the fixtures' time, reading keys from `url` over real HTTP.
func fixtureVerifier(
    url: URL, rejectReplayed: Bool = false, logger: Logger = silentLogger, refetchInterval: Duration = .seconds(30),
    clock: MonotonicTestClock? = nil
) -> FITVerifier {
    let fits = Fixtures.fits
    let configuration = ForgeConfiguration(appId: fits.appId, jwksURL: url, rejectReplayedTokens: rejectReplayed, urlPolicy: .sandbox)
    let now: @Sendable () -> ContinuousClock.Instant
    if let clock { now = { clock.now } } else { now = { .now } }
    let keys = JWKSCache(url: url, transport: URLSessionTransport(policy: .sandbox), refetchInterval: refetchInterval, logger: logger, now: now)
    let at = fits.verifyAt
    return FITVerifier(configuration: configuration, keys: keys, now: { Date(timeIntervalSince1970: at) })
}

/// A monotonic clock the test moves by hand (the JWKS refetch limit is about time).
final class MonotonicTestClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    private let base = ContinuousClock.now
    var now: ContinuousClock.Instant { base + offset.withLock { $0 } }
    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}
