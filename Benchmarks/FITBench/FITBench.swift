import ArgumentParser
import Foundation
import Logging
import ReportsSupport
import Security
import Transport

/// Forge Invocation Token verifications per second, sequentially in one task (one core at a time; run
/// it under `taskset -c 0` to pin it). Keys come from the PyJWT fixtures; the JWKS is served from
/// memory because this measures verification, not HTTP (the cache fetches once either way).
@main
struct FITBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fit-bench", abstract: "Benchmarks FIT verification.")

    @Option(help: "The fixture file made by Tests/Fixtures/make_fixtures.py.") var fixtures =
        "Tests/Fixtures/forge-fits.json"
    @Option(help: "Verifications per measurement.") var count = 20_000
    @Option(help: "Runs per measurement; the median is reported.") var repeats = 3

    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let token: String
        }
        struct JWKS: Codable { let keys: [[String: String]] }
        let appId: String
        let verifyAt: Double
        let jwks: JWKS
        let cases: [Case]
    }

    func run() async throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures)))
        let jwks = try JSONEncoder().encode(fixture.jwks)
        let url = URL(string: "https://jwks.invalid/.well-known/jwks.json")!
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let verifier = FITVerifier(
            configuration: ForgeConfiguration(appId: fixture.appId, jwksURL: url),
            keys: JWKSCache(url: url, transport: MemoryTransport(body: jwks), logger: logger),
            now: { [verifyAt = fixture.verifyAt] in Date(timeIntervalSince1970: verifyAt) })
        func token(_ name: String) -> Secret { Secret("Bearer " + fixture.cases.first { $0.name == name }!.token) }

        print("fit-bench: \(count) verifications per run, \(repeats) runs, median")
        for (label, name, accepted) in [
            ("valid token (RS256 verify + claims)", "valid", true),
            ("bad signature (RS256 verify fails)", "signed by another key", false),
            ("wrong algorithm (refused before crypto)", "HS256 keyed with the public key (algorithm confusion)", false),
            ("oversized (refused before parsing)", "20 KB of padding", false),
        ] {
            let header = token(name)
            var rates: [Double] = []
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                for _ in 0..<count {
                    do {
                        _ = try await verifier.verify(authorization: header)
                        if !accepted { throw ValidationError("\(name) was accepted") }
                    } catch {
                        if accepted { throw ValidationError("\(name) was refused: \(error)") }
                    }
                }
                rates.append(Double(count) / (ContinuousClock.now - start).timeInterval)
            }
            let median = rates.sorted()[rates.count / 2]
            print(String(format: "%-44@ %9.0f per second (%.1f µs each)", label as NSString, median, 1e6 / median))
        }
    }
}

struct MemoryTransport: HTTPTransport {
    let body: Data
    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        OutboundResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
    }
}
