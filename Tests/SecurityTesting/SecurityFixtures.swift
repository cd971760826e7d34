package import Foundation
import Hummingbird
import HummingbirdTesting
package import Logging
package import Security
import Synchronization
import Transport

/// The fixtures `Tests/Fixtures/make_fixtures.py` made with Python's `cryptography` and PyJWT.
package enum Fixtures {
    package static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    package static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    package struct ForgeFITs: Decodable {
        package struct Case: Decodable {
            package let name: String
            package let token: String
            package let expect: String
        }
        package struct JWKS: Codable { package let keys: [[String: String]] }
        package let appId: String
        package let installationId: String
        package let cloudId: String
        package let accountId: String
        package let apiBaseUrl: String
        package let verifyAt: Double
        package let jwks: JWKS
        package let privateKeyPEM: String
        package let rotatedJWK: [String: String]
        package let rotatedToken: String
        package let cases: [Case]

        package var validToken: String { cases.first { $0.name == "valid" }!.token }
        package var jwksJSON: String { String(decoding: try! JSONEncoder().encode(jwks), as: UTF8.self) }
        package var rotatedJWKSJSON: String {
            String(decoding: try! JSONEncoder().encode(JWKS(keys: jwks.keys + [rotatedJWK])), as: UTF8.self)
        }
    }

    package struct Vault: Decodable {
        package struct Case: Decodable {
            package let name: String
            package let ciphertext: String
            package let context: String
            package let expect: String
            package let plaintext: String?
        }
        package let keys: String
        package let cases: [Case]
    }

    package struct OAuthStates: Decodable {
        package struct Case: Decodable {
            package let name: String
            package let state: String
            package let expect: String
            package let fields: OAuthState.Fields?
        }
        package let stateKey: String
        package let verifyAt: Double
        package let cases: [Case]
    }

    package static let fits: ForgeFITs = try! load("forge-fits.json")
}

/// A real HTTP server on loopback that serves a JWKS the test can change, and counts requests.
package final class JWKSServer: Sendable {
    private let state: Mutex<(body: String, status: Int, hits: Int)>

    package init(body: String) { state = Mutex((body, 200, 0)) }

    package var hits: Int { state.withLock { $0.hits } }
    package func serve(_ body: String, status: Int = 200) {
        state.withLock {
            $0.body = body
            $0.status = status
        }
    }

    private func nextResponse() -> (String, Int) {
        state.withLock { state in
            state.hits += 1
            return (state.body, state.status)
        }
    }

    /// Runs `body` with the server listening; `url` is its JWKS address.
    package func run<T: Sendable>(_ body: @Sendable (_ url: URL) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/.well-known/jwks.json") { [self] _, _ -> Response in
            let (text, status) = self.nextResponse()
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quietLogger)
        return try await app.test(.live) { client in
            try await body(URL(string: "http://127.0.0.1:\(client.port!)/.well-known/jwks.json")!)
        }
    }
}

/// A verifier for the fixtures' app, at the fixtures' time, reading keys from `url` over real HTTP.
package func fixtureVerifier(
    url: URL, rejectReplayed: Bool = false, logger: Logger = quietLogger, refetchInterval: Duration = .seconds(30),
    clock: MonotonicTestClock? = nil
) -> FITVerifier {
    let fits = Fixtures.fits
    let configuration = ForgeConfiguration(
        appId: fits.appId, jwksURL: url, rejectReplayedTokens: rejectReplayed, urlPolicy: .sandbox)
    let now: @Sendable () -> ContinuousClock.Instant
    if let clock { now = { clock.now } } else { now = { .now } }
    // A loaded test machine can take seconds to answer on loopback; the service's 5 s would flake here.
    let keys = JWKSCache(
        url: url, transport: CurlTransport(policy: .sandbox), refetchInterval: refetchInterval,
        retryWhenEmptyInterval: .seconds(1), maxAge: .seconds(3600), fetchTimeout: .seconds(30), logger: logger,
        now: now)
    let at = fits.verifyAt
    return FITVerifier(configuration: configuration, keys: keys, now: { Date(timeIntervalSince1970: at) })
}

/// A monotonic clock the test moves by hand (the JWKS refetch limit is about time).
package final class MonotonicTestClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    private let base = ContinuousClock.now

    package init() {}

    package var now: ContinuousClock.Instant { base + offset.withLock { $0 } }
    package func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}

/// A logger that drops everything: the fixtures' servers are not what a test looks at.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
