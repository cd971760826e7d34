public import Foundation

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

/// The one seam for outbound HTTP: `URLSessionTransport` in production; the sandbox and the tests use
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

    public static func isLoopback(_ host: String) -> Bool {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
