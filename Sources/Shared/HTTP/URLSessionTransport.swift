import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Outbound HTTP through Foundation's `URLSession` (on Linux: the system libcurl and OpenSSL 3, whose
/// default security level refuses anything below TLS 1.2; certificates are verified).
public struct URLSessionTransport: HTTPTransport {
    public let policy: OutboundURLPolicy
    /// Responses larger than this are refused (a JWKS is a few KB; a page of Jira issues a few MB).
    public let maxResponseBytes: Int
    private let session: URLSession

    public init(policy: OutboundURLPolicy, maxResponseBytes: Int = 16 << 20) {
        self.policy = policy
        self.maxResponseBytes = maxResponseBytes
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        guard policy.permits(request.url) else { throw HTTPTransportError.insecureURL }
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = request.timeout.timeInterval
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = request.body
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: urlRequest)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as URLError {
            throw HTTPTransportError.unreachable(request.url.host ?? "?", reason: Self.reason(error))
        } catch {
            throw HTTPTransportError.unreachable(request.url.host ?? "?")
        }
        guard data.count <= maxResponseBytes else { throw HTTPTransportError.responseTooLarge(maxResponseBytes) }
        guard let http = response as? HTTPURLResponse else { throw HTTPTransportError.unreachable(request.url.host ?? "?") }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return OutboundResponse(status: http.statusCode, headers: headers, body: data)
    }

    /// Why a request failed, for operators: a fixed phrase for the classes Foundation names, else
    /// libcurl's own one-line error text (about the connection — TLS alerts, certificate problems —
    /// never from the upstream's response, which did not arrive), capped.
    static func reason(_ error: URLError) -> String {
        switch error.code {
        case .secureConnectionFailed: return "TLS handshake failed"
        case .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateHasUnknownRoot,
             .serverCertificateNotYetValid:
            return "the server's certificate is not trusted"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host name not found"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        default:
            let text = error.localizedDescription.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return text.isEmpty ? "network error \(error.code.rawValue)" : String(text.prefix(200))
        }
    }
}
