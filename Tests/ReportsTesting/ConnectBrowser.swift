import Foundation
import HTTPTypes
import Hummingbird
package import HummingbirdTesting
import Microsoft
import Security
import Transport
import Upstream

/// A browser's side of the Microsoft connect flow: it keeps the `__Host-` connect cookie
/// our host sets, follows no redirect by itself, and can be told to leave a step to another browser,
/// so tests can play the victim and the attacker of a login CSRF.
package final class ConnectBrowser: @unchecked Sendable {
    package struct Response: Sendable {
        package let status: Int
        /// Header names in lower case.
        package let headers: [String: String]
        package let text: String
    }

    /// Sends one request to our API: method, path with query, headers, body.
    package typealias Send = @Sendable (String, String, [String: String], String?) async throws -> Response

    package private(set) var cookie: String?
    private let api: Send

    package init(api: @escaping Send) { self.api = api }

    /// The API through HummingbirdTesting's router client.
    package static func router(_ client: any TestClientProtocol) -> ConnectBrowser {
        ConnectBrowser { method, path, headers, body in
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            let response = try await client.execute(
                uri: path, method: HTTPRequest.Method(method)!, headers: fields,
                body: body.map { ByteBuffer(string: $0) })
            var names: [String: String] = [:]
            for field in response.headers { names[field.name.canonicalName] = field.value }
            return Response(status: Int(response.status.code), headers: names, text: String(buffer: response.body))
        }
    }

    /// The API over real HTTP at `base` (the product's transport: it follows no redirect).
    package static func http(_ base: String) -> ConnectBrowser {
        let transport = CurlTransport(policy: .sandbox)
        return ConnectBrowser { method, path, headers, body in
            let response = try await transport.send(
                OutboundRequest(
                    method: method, url: URL(string: base + path)!, headers: headers, body: body.map { Data($0.utf8) }))
            return Response(
                status: response.status,
                headers: Dictionary(response.headers.map { ($0.key.lowercased(), $0.value) }) { $1 },
                text: String(decoding: response.body, as: UTF8.self))
        }
    }

    package static func pathAndQuery(_ url: String) -> String {
        let components = URLComponents(string: url)!
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// Opens the start URL: keeps the cookie; returns the Microsoft authorize URL it redirects to.
    package func start(_ startUrl: String) async throws -> Response {
        let response = try await api("GET", Self.pathAndQuery(startUrl), [:], nil)
        if let set = response.headers["set-cookie"], let pair = set.split(separator: ";").first {
            cookie = String(pair.split(separator: "=", maxSplits: 1).last ?? "")
        }
        return response
    }

    /// Arrives at the callback (Microsoft's redirect), with this browser's cookie if it has one.
    package func callback(_ url: String) async throws -> Response {
        try await api("GET", Self.pathAndQuery(url), cookieHeader, nil)
    }

    /// Answers the confirmation page; `token` defaults to the one in `page`.
    package func confirm(page: String? = nil, token: String? = nil, decision: String = "connect") async throws
        -> Response
    {
        let token = token ?? page.flatMap(Self.confirmationToken) ?? ""
        var headers = cookieHeader
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return try await api(
            "POST", "/oauth/microsoft/confirm", headers, "token=\(FormEncoding.escape(token))&decision=\(decision)")
    }

    private var cookieHeader: [String: String] {
        cookie.map { ["Cookie": "\(ConnectBrowserBinding.cookieName)=\($0)"] } ?? [:]
    }

    package static func confirmationToken(_ page: String) -> String? {
        guard let range = page.range(of: #"name="token" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    package static func state(inAuthorizeURL url: String) -> String? {
        URLComponents(string: url)?.queryItems?.first { $0.name == "state" }?.value
    }
}
