public import Foundation
public import Security
public import Transport
import Upstream

/// Read-only Jira calls: this type has no method that writes (docs/design-notes.md §5). Parsing a
/// query is a `POST` that changes nothing (docs/atlassian-apis.md §9).
public struct JiraClient: Sendable {
    public let transport: any HTTPTransport

    public init(transport: any HTTPTransport) { self.transport = transport }

    public struct Filter: Codable, Sendable, Equatable {
        public let id: String
        public let name: String
        public let jql: String?
    }

    /// The caller's saved filters with their JQL (`GET /rest/api/3/filter/search?expand=jql`), paged by
    /// `startAt` until `isLast`, at most `cap` filters; `truncated` says when more exist.
    public func filters(apiBaseUrl: URL, userToken: Secret, query: String?, pageSize: Int = 50, cap: Int = 500)
        async throws -> (filters: [Filter], truncated: Bool)
    {
        struct Page: Decodable {
            let values: [Filter]
            let isLast: Bool?
            let total: Int?
        }
        var filters: [Filter] = []
        while filters.count < cap {
            var components = URLComponents(
                url: apiBaseUrl.appendingPathComponent("rest/api/3/filter/search"), resolvingAgainstBaseURL: false)!
            var items = [
                ("expand", "jql"), ("startAt", "\(filters.count)"),
                ("maxResults", "\(min(pageSize, cap - filters.count))"), ("orderBy", "name"),
            ]
            if let query, !query.isEmpty { items.append(("filterName", query)) }
            components.percentEncodedQuery = items.map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
            let response = try await send(components.url!, userToken: userToken)
            guard let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
                throw Self.unexpectedAnswer
            }
            filters += page.values
            // `isLast` ends it; an empty page too, so a Jira that omits `isLast` cannot loop us.
            if page.isLast ?? true || page.values.isEmpty { return (filters, false) }
        }
        return (Array(filters.prefix(cap)), true)
    }

    /// The calling user's display name (`GET /rest/api/3/myself`, docs/atlassian-apis.md §8), shown on
    /// the Microsoft connect confirmation so a person can tell whose Jira account a link would connect.
    public func displayName(apiBaseUrl: URL, userToken: Secret) async throws -> String? {
        struct User: Decodable { let displayName: String? }
        let response = try await send(
            apiBaseUrl.appendingPathComponent("rest/api/3/myself"), userToken: userToken, timeout: .seconds(5))
        return (try? JSONDecoder().decode(User.self, from: response.body))?.displayName
    }

    /// The site's title as its administrators set it (`GET /rest/api/3/serverInfo`, `serverTitle`;
    /// docs/atlassian-apis.md §8).
    public func siteTitle(apiBaseUrl: URL, userToken: Secret) async throws -> String? {
        struct Info: Decodable { let serverTitle: String? }
        let response = try await send(
            apiBaseUrl.appendingPathComponent("rest/api/3/serverInfo"), userToken: userToken, timeout: .seconds(5))
        return (try? JSONDecoder().decode(Info.self, from: response.body))?.serverTitle
    }

    /// The site's fields as this user sees them (`GET /rest/api/3/field`, docs/jira-fields.md); an entry
    /// in a shape this code does not know is skipped.
    public func fields(apiBaseUrl: URL, userToken: Secret) async throws -> [JiraField] {
        let response = try await send(apiBaseUrl.appendingPathComponent("rest/api/3/field"), userToken: userToken)
        return try JiraField.list(from: response.body)
    }

    /// What Jira finds wrong with `jql`, checked as this user would run it
    /// (`POST /rest/api/3/jql/parse?validation=strict`, docs/atlassian-apis.md §9): Jira's messages,
    /// empty when the query is valid. A query Jira answers about in a shape this code does not know is
    /// an upstream error, not a verdict on the query.
    public func jqlErrors(apiBaseUrl: URL, userToken: Secret, jql: String) async throws -> [String] {
        struct Parsed: Decodable {
            struct Query: Decodable { let errors: [String]? }
            let queries: [Query]
        }
        var components = URLComponents(
            url: apiBaseUrl.appendingPathComponent("rest/api/3/jql/parse"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "validation=strict"
        let body = try JSONSerialization.data(withJSONObject: ["queries": [jql]])
        let response = try await send(
            components.url!, userToken: userToken, method: "POST", body: body, timeout: .seconds(10))
        guard let parsed = try? JSONDecoder().decode(Parsed.self, from: response.body), parsed.queries.count == 1
        else {
            throw Self.unexpectedAnswer
        }
        return parsed.queries[0].errors ?? []
    }

    /// A saved filter's JQL as this user sees it (§5: `filter/search` with `id` and `expand=jql`); nil
    /// when the filter does not exist or is not shared with them.
    public func filterJQL(apiBaseUrl: URL, userToken: Secret, filterId: String) async throws -> String? {
        struct Page: Decodable { let values: [Filter] }
        var components = URLComponents(
            url: apiBaseUrl.appendingPathComponent("rest/api/3/filter/search"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "id=\(FormEncoding.escape(filterId))&expand=jql&maxResults=1"
        let response = try await send(components.url!, userToken: userToken, timeout: .seconds(10))
        guard let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
            throw Self.unexpectedAnswer
        }
        return page.values.first { $0.id == filterId }?.jql
    }

    /// Whether this user holds the global permission `key` (`GET /rest/api/3/mypermissions?permissions=KEY`,
    /// `permissions.KEY.havePermission`; docs/atlassian-apis.md §11). An answer that does not name the
    /// permission is an upstream error, not a "no".
    public func hasGlobalPermission(_ key: String, apiBaseUrl: URL, userToken: Secret) async throws -> Bool {
        struct Answer: Decodable {
            struct Permission: Decodable { let havePermission: Bool }
            let permissions: [String: Permission]
        }
        var components = URLComponents(
            url: apiBaseUrl.appendingPathComponent("rest/api/3/mypermissions"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "permissions=\(FormEncoding.escape(key))"
        let response = try await send(components.url!, userToken: userToken, timeout: .seconds(10))
        guard let permission = (try? JSONDecoder().decode(Answer.self, from: response.body))?.permissions[key] else {
            throw Self.unexpectedAnswer
        }
        return permission.havePermission
    }

    /// Display names of up to 200 accounts as this user may see them (`GET /rest/api/3/user/bulk`,
    /// docs/atlassian-apis.md §11), page by page as Jira sizes them: an account Jira does not return is
    /// left out.
    public func displayNames(apiBaseUrl: URL, userToken: Secret, accountIds: [String]) async throws -> [String: String]
    {
        struct Page: Decodable {
            struct User: Decodable {
                let accountId: String
                let displayName: String?
            }
            let values: [User]
            let isLast: Bool?
        }
        let ids = accountIds.prefix(200).map { "accountId=\(FormEncoding.escape($0))" }.joined(separator: "&")
        var names: [String: String] = [:]
        var startAt = 0
        while !ids.isEmpty, startAt < 200 {
            var components = URLComponents(
                url: apiBaseUrl.appendingPathComponent("rest/api/3/user/bulk"), resolvingAgainstBaseURL: false)!
            components.percentEncodedQuery = "\(ids)&startAt=\(startAt)&maxResults=200"
            let response = try await send(components.url!, userToken: userToken, timeout: .seconds(10))
            guard let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
                throw Self.unexpectedAnswer
            }
            for user in page.values { names[user.accountId] = user.displayName.flatMap { $0.isEmpty ? nil : $0 } }
            guard page.isLast == false, !page.values.isEmpty else { break }
            startAt += page.values.count
        }
        return names
    }

    /// A 200 whose body is not in the documented shape.
    private static let unexpectedAnswer = UpstreamError(
        kind: .transient, code: "jira_bad_response", message: "Jira sent an unexpected response", status: 200)

    private func send(
        _ url: URL, userToken: Secret, method: String = "GET", body: Data? = nil, timeout: Duration = .seconds(20)
    ) async throws -> OutboundResponse {
        var headers = ["Authorization": "Bearer \(userToken.revealed)", "Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json" }
        let request = OutboundRequest(method: method, url: url, headers: headers, body: body, timeout: timeout)
        let span = UpstreamSpan("jira", request, attempt: 1)
        let response: OutboundResponse
        do {
            response = try await span.send(request, over: transport)
        } catch let error as HTTPTransportError {
            throw UpstreamError(kind: .transient, code: "jira_unreachable", message: error.message)
        }
        span.end()
        guard response.status == 200 else { throw UpstreamError.classify(response, service: .jira) }
        return response
    }
}
