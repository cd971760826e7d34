public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An outbound HTTP request, as small as our clients need.
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data?
    public var timeout: Duration

    public init(
        method: String = "GET", url: URL, headers: [String: String] = [:], body: Data? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct OutboundResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Header lookup ignoring case, as HTTP defines it.
    public func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The one seam for outbound HTTP: `CurlTransport` in production; the sandbox and the tests use
/// the same transport against loopback servers.
public protocol HTTPTransport: Sendable {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse
}

/// Why an outbound call did not produce a response. Messages carry no URL query, header or body.
public struct HTTPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case insecureURL
        case unreachable
        case responseTooLarge
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
    public static func == (lhs: HTTPTransportError, rhs: HTTPTransportError) -> Bool { lhs.code == rhs.code }

    public static let insecureURL = HTTPTransportError(
        .insecureURL, "refused a URL that is not HTTPS (plain HTTP is allowed only to loopback in sandbox mode)")
    /// `reason` comes from the transport about the connection (a fixed phrase, or the TLS library's
    /// one-line error), never from an upstream's response body, so an operator can tell a refused TLS
    /// handshake from an untrusted certificate or a closed port.
    public static func unreachable(_ host: String, reason: String? = nil) -> HTTPTransportError {
        HTTPTransportError(.unreachable, "could not reach \(host)" + (reason.map { ": \($0)" } ?? ""))
    }
    public static func responseTooLarge(_ limit: Int) -> HTTPTransportError {
        HTTPTransportError(.responseTooLarge, "the response is larger than \(limit) bytes")
    }
}

/// Which upstream URLs a process may call: HTTPS only, except plain HTTP to a loopback address in
/// sandbox mode (docs/design-notes.md §5, TLS).
public struct OutboundURLPolicy: Sendable, Equatable {
    public var allowsLoopbackHTTP: Bool

    public static let production = OutboundURLPolicy(allowsLoopbackHTTP: false)
    public static let sandbox = OutboundURLPolicy(allowsLoopbackHTTP: true)

    public init(allowsLoopbackHTTP: Bool) { self.allowsLoopbackHTTP = allowsLoopbackHTTP }

    public func permits(_ url: URL) -> Bool {
        guard let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && allowsLoopbackHTTP && Self.isLoopback(host)
    }

    /// `localhost`, an IPv4 address in 127.0.0.0/8 (dotted quad, as `inet_pton` reads it) or `::1`.
    /// A name that merely starts with `127.` (`127.0.0.1.example.com`) is a public host name.
    public static func isLoopback(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        return withUnsafeBytes(of: &v6) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
    }
}

extension URL {
    /// Same scheme, host and port (the port a scheme implies when none is written): a URL an upstream
    /// hands back (`@odata.nextLink`, say) is followed with our credentials only on the origin of that
    /// upstream's configured base URL, never wherever it points.
    public func hasSameOrigin(as other: URL) -> Bool {
        func origin(_ url: URL) -> (String, String, Int)? {
            guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(), !host.isEmpty else {
                return nil
            }
            guard let port = url.port ?? ["https": 443, "http": 80][scheme] else { return nil }
            return (scheme, host, port)
        }
        guard let mine = origin(self), let theirs = origin(other) else { return false }
        return mine == theirs
    }
}
