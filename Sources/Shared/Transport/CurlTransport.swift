public import Foundation

/// Outbound HTTP through the system libcurl over OpenSSL 3 (certificates verified against the system
/// trust store, TLS 1.2 at least, HTTP/2 where the server offers it), on one multi handle per process
/// (`CurlMulti`). docs/upstream-notes.md, "The transport", says why libcurl directly rather than
/// Foundation's `URLSession` (which is libcurl underneath on Linux).
///
/// Two rules hold for every call: redirects are never followed (a 3xx comes back as the response, for
/// the caller to classify: following one would carry our `Authorization` header to whatever origin the
/// upstream names, https→http included), and the response size cap is enforced inside the transfer
/// (`CurlTransfer`), so an upstream that sends 600 MB, declared or chunked, costs at most the cap.
public struct CurlTransport: HTTPTransport {
    public let policy: OutboundURLPolicy
    /// Responses larger than this are refused (a JWKS is a few KB; a page of Jira issues a few MB).
    public let maxResponseBytes: Int

    public init(policy: OutboundURLPolicy, maxResponseBytes: Int = 16 << 20) {
        self.policy = policy
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        guard policy.permits(request.url) else { throw HTTPTransportError.insecureURL }
        try Task.checkCancellation()
        return try await CurlMulti.shared.perform(try CurlTransfer(request, limit: maxResponseBytes))
    }
}
