import Foundation
import Synchronization
package import Transport

/// Jira's enhanced search (`POST /rest/api/3/search/jql`, docs/atlassian-apis.md §4) in memory, behind
/// the transport the clients use: it pages `issues` by the request's `maxResults` with a
/// `nextPageToken` until `isLast`, answers 400 with Jira's `errorMessages` for a query in `refused`,
/// and keeps every request's decoded body so a test can see what was asked. Anything else is a 404.
package final class InMemoryJira: HTTPTransport {
    /// One search request as Jira received it.
    package struct Search: Sendable, Equatable {
        package let jql: String
        package let fields: [String]
        package let maxResults: Int
        package let bearer: String?
    }

    private let issues: [[String: any Sendable]]
    private let refused: [String: String]
    private let fieldList: [[String: any Sendable]]?
    private let searches = Mutex<[Search]>([])
    private let fieldReads = Mutex(0)

    /// `issues`: the issues every query matches, each `["id":…, "key":…, "fields": […]]`.
    /// `refused`: a JQL Jira refuses, and the message it gives. `fields`: the site's field list
    /// (`GET /rest/api/3/field`); nil answers it with a 500.
    package init(
        issues: [[String: any Sendable]], refused: [String: String] = [:], fields: [[String: any Sendable]]? = []
    ) {
        self.issues = issues
        self.refused = refused
        self.fieldList = fields
    }

    /// How many times the field list was asked for.
    package var fieldListReads: Int { fieldReads.withLock { $0 } }

    /// The search requests received, in order.
    package var received: [Search] { searches.withLock { $0 } }

    package func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        if request.method == "GET", request.url.path.hasSuffix("/rest/api/3/field") {
            fieldReads.withLock { $0 += 1 }
            guard let fieldList else { return Self.answer(500, ["errorMessages": ["unavailable"]]) }
            return OutboundResponse(
                status: 200, headers: ["Content-Type": "application/json"],
                body: (try? JSONSerialization.data(withJSONObject: fieldList.map { $0 as [String: Any] })) ?? Data())
        }
        guard request.method == "POST", request.url.path.hasSuffix("/rest/api/3/search/jql"),
            let body = request.body,
            let object = try JSONSerialization.jsonObject(with: body) as? [String: Any],
            let jql = object["jql"] as? String
        else { return Self.answer(404, ["errorMessages": ["not found"]]) }
        let search = Search(
            jql: jql, fields: object["fields"] as? [String] ?? [], maxResults: object["maxResults"] as? Int ?? 50,
            bearer: request.headers["Authorization"].map { String($0.dropFirst("Bearer ".count)) })
        searches.withLock { $0.append(search) }
        if let message = refused[jql] { return Self.answer(400, ["errorMessages": [message], "errors": [:]]) }
        let start = (object["nextPageToken"] as? String).flatMap(Int.init) ?? 0
        let end = min(start + max(search.maxResults, 1), issues.count)
        var page: [String: Any] = ["issues": Array(issues[start..<end]), "isLast": end == issues.count]
        if end < issues.count { page["nextPageToken"] = String(end) }
        return Self.answer(200, page)
    }

    static func answer(_ status: Int, _ object: [String: Any]) -> OutboundResponse {
        OutboundResponse(
            status: status, headers: ["Content-Type": "application/json"],
            body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }
}
