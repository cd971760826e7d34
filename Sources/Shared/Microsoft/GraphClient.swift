public import Foundation
public import Security
public import Transport
import Upstream

/// Microsoft Graph calls the API needs: who the user is, and their OneNote sections.
public struct GraphClient: Sendable {
    public let baseURL: URL
    public let transport: any HTTPTransport

    public init(baseURL: URL, transport: any HTTPTransport) {
        self.baseURL = baseURL
        self.transport = transport
    }

    public struct Me: Decodable, Sendable, Equatable {
        public let id: String
        public let displayName: String?
        /// The sign-in name, shown when the user confirms a connection.
        public let userPrincipalName: String?
    }

    public struct Section: Codable, Sendable, Equatable {
        public let id: String
        public let name: String
        public let notebookId: String?
        public let notebookName: String?
    }

    public func me(accessToken: Secret) async throws -> Me {
        try await get("v1.0/me", query: [("$select", "id,displayName,userPrincipalName")], accessToken: accessToken)
    }

    /// Every section of the user's notebooks, including those in section groups. Sections are a OneNote
    /// resource (docs/microsoft-tokens.md): with `budget`, the request takes a slot of that Microsoft user's
    /// budget shared with every worker, like any page request.
    public func sections(accessToken: Secret, budget: (limiter: any OneNoteBudget, user: String)? = nil) async throws
        -> [Section]
    {
        struct Page: Decodable {
            struct Item: Decodable {
                struct Notebook: Decodable {
                    let id: String?
                    let displayName: String?
                }
                let id: String
                let displayName: String?
                let parentNotebook: Notebook?
            }
            let value: [Item]
        }
        let list = { () async throws -> Page in
            try await get(
                "v1.0/me/onenote/sections",
                query: [
                    ("$select", "id,displayName"), ("$expand", "parentNotebook($select=id,displayName)"),
                    ("$top", "100"),
                ],
                accessToken: accessToken)
        }
        let page: Page
        if let budget {
            page = try await budget.limiter.withSlot(user: budget.user, list)
        } else {
            page = try await list()
        }
        return page.value.map {
            Section(
                id: $0.id, name: $0.displayName ?? "", notebookId: $0.parentNotebook?.id,
                notebookName: $0.parentNotebook?.displayName)
        }
    }

    private func get<T: Decodable>(_ path: String, query: [(String, String)], accessToken: Secret) async throws -> T {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = query.map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        let request = OutboundRequest(
            url: components.url!,
            headers: ["Authorization": "Bearer \(accessToken.revealed)", "Accept": "application/json"],
            timeout: .seconds(20))
        let span = UpstreamSpan("graph", request, attempt: 1)
        let response: OutboundResponse
        do {
            response = try await span.send(request, over: transport)
        } catch let error as HTTPTransportError {
            throw UpstreamError(kind: .transient, code: "graph_unreachable", message: error.message)
        }
        span.end()
        guard response.status == 200 else { throw Self.classify(response) }
        guard let decoded = try? JSONDecoder().decode(T.self, from: response.body) else {
            throw UpstreamError(
                kind: .transient, code: "graph_bad_response", message: "Microsoft Graph sent an unexpected response",
                status: 200)
        }
        return decoded
    }

    static func classify(_ response: OutboundResponse) -> UpstreamError {
        UpstreamError.classify(
            response, service: .graph, detail: OneNoteWriter.errorCode(response.body) ?? "HTTP \(response.status)")
    }
}
