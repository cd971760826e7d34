public import Foundation
import JWTKit
public import Logging
public import Transport

/// Atlassian's signing keys, fetched from `FORGE_JWKS_URL` and cached.
///
/// A key id not in the cache causes one refetch, at most once per `refetchInterval` (30 s), whatever
/// the number of requests carrying unknown ids; callers that arrive during a fetch wait for it rather
/// than starting another. A refetch replaces the whole set, so keys Atlassian withdrew stop verifying.
/// With nothing cached and the fetch failing, verification fails closed (`jwksUnavailable`).
public actor JWKSCache {
    let url: URL
    private let transport: any HTTPTransport
    private let refetchInterval: Duration
    private let retryWhenEmptyInterval: Duration
    private let maxAge: Duration
    /// How long one fetch may take (tests on a loaded machine give it more).
    private let fetchTimeout: Duration
    private let logger: Logger
    private let now: @Sendable () -> ContinuousClock.Instant

    private var keys: [String: JWTKeyCollection] = [:]
    private var fetchedAt: ContinuousClock.Instant?
    private var lastAttempt: ContinuousClock.Instant?
    private var fetching = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// How many fetches were made (tests and metrics read it).
    public private(set) var fetchCount = 0

    public init(
        url: URL, transport: any HTTPTransport, refetchInterval: Duration = .seconds(30),
        retryWhenEmptyInterval: Duration = .seconds(1), maxAge: Duration = .seconds(3600), logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.init(
            url: url, transport: transport, refetchInterval: refetchInterval,
            retryWhenEmptyInterval: retryWhenEmptyInterval, maxAge: maxAge, fetchTimeout: .seconds(5), logger: logger,
            now: now)
    }

    package init(
        url: URL, transport: any HTTPTransport, refetchInterval: Duration, retryWhenEmptyInterval: Duration,
        maxAge: Duration, fetchTimeout: Duration, logger: Logger, now: @escaping @Sendable () -> ContinuousClock.Instant
    ) {
        self.fetchTimeout = fetchTimeout
        self.url = url
        self.transport = transport
        self.refetchInterval = refetchInterval
        self.retryWhenEmptyInterval = retryWhenEmptyInterval
        self.maxAge = maxAge
        self.logger = logger
        self.now = now
    }

    func key(for kid: String) async throws(FITVerificationError) -> JWTKeyCollection {
        if let fetchedAt, now() - fetchedAt > maxAge, mayFetch() {
            await refresh()
        }
        if let key = keys[kid] { return key }
        if fetching {
            await withCheckedContinuation { waiters.append($0) }
        } else if mayFetch() {
            await refresh()
        }
        if let key = keys[kid] { return key }
        throw keys.isEmpty ? .jwksUnavailable : .unknownKey
    }

    private func mayFetch() -> Bool {
        guard let lastAttempt else { return true }
        let interval = keys.isEmpty ? retryWhenEmptyInterval : refetchInterval
        return now() - lastAttempt >= interval
    }

    private func refresh() async {
        fetching = true
        lastAttempt = now()
        fetchCount += 1
        defer {
            fetching = false
            let waiting = waiters
            waiters.removeAll()
            for waiter in waiting { waiter.resume() }
        }
        do {
            let response = try await transport.send(
                OutboundRequest(url: url, headers: ["Accept": "application/json"], timeout: fetchTimeout))
            guard response.status == 200 else {
                logger.error("JWKS fetch failed", metadata: ["status": "\(response.status)"])
                return
            }
            let fetched = try await Self.parse(response.body)
            guard !fetched.isEmpty else {
                logger.error("JWKS fetch returned no usable RS256 keys")
                return
            }
            keys = fetched
            fetchedAt = now()
            logger.info("JWKS fetched", metadata: ["keys": "\(fetched.keys.sorted())"])
        } catch {
            logger.error("JWKS fetch failed", metadata: ["error": "\(JWKSCache.describe(error))"])
        }
    }

    private static func describe(_ error: any Error) -> String {
        (error as? HTTPTransportError)?.message ?? String(describing: type(of: error))
    }

    /// One single-key collection per RSA key, so jwt-kit can never fall back to another key.
    static func parse(_ body: Data) async throws -> [String: JWTKeyCollection] {
        struct Set: Decodable {
            struct Key: Decodable {
                let kty: String
                let kid: String?
                let alg: String?
                let use: String?
                let n: String?
                let e: String?
            }
            let keys: [Key]
        }
        let set = try JSONDecoder().decode(Set.self, from: body)
        var result: [String: JWTKeyCollection] = [:]
        for key in set.keys {
            guard key.kty == "RSA", key.alg == nil || key.alg == "RS256", key.use == nil || key.use == "sig",
                let kid = key.kid, let n = key.n, let e = key.e,
                let publicKey = try? Insecure.RSA.PublicKey(modulus: n, exponent: e)
            else { continue }
            let collection = JWTKeyCollection()
            await collection.add(rsa: publicKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
            result[kid] = collection
        }
        return result
    }
}
