public import Foundation
import ReportsSupport
public import Security
import Synchronization
public import Transport
import Upstream

/// Read-only Atlassian calls of the report pipeline (docs/design-notes.md §6; docs/atlassian-apis.md §3–§6). There is no
/// method that writes.
public struct AtlassianClient: Sendable {
    public let graphQLURL: URL
    public let transport: any HTTPTransport
    public let retry: AtlassianRetryPolicy
    /// Waits longer than this are not slept in place: the job goes back to the queue, due after the
    /// wait (a worker slot is not held waiting for an upstream). nil: always wait in place.
    public var maxInlineWait: Duration? = .seconds(5)
    /// The most bytes of Jira answers one search may read over all its pages: each answer
    /// is capped by the transport, and this caps the sum, so one run's memory stays bounded.
    public var maxSearchBytes = 64 << 20
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(
        graphQLURL: URL, transport: any HTTPTransport, retry: AtlassianRetryPolicy = .documented,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.graphQLURL = graphQLURL
        self.transport = transport
        self.retry = retry
        self.sleep = sleep
    }

    // MARK: Offline user token (§3)

    public struct UserToken: Sendable {
        public let token: Secret
        public let expiresAt: Date
    }

    /// `offlineUserAuthToken` with the installation's system token, for `accountId`, in the workspace-ARI
    /// context form (the reference's recommended reading; `contextForm` could make it configurable).
    public func offlineUserToken(systemToken: Secret, cloudId: String, accountId: String) async throws -> UserToken {
        let mutation =
            "mutation forge_remote_offlineUserAuthToken($input: OfflineUserAuthTokenInput!) { offlineUserAuthToken(input: $input) { success errors { message } authToken { token ttl } } }"
        let body = JSONText.serialize(
            [
                "query": mutation,
                "variables": [
                    "input": ["contextIds": ["ari:cloud:jira:\(cloudId):workspace/\(cloudId)"], "userId": accountId]
                ],
            ], escapeAngleBrackets: false)
        let response = try await send(
            .postingJSON(body, to: graphQLURL, systemToken: systemToken), service: "atlassian_graphql")
        guard response.status == 200 else {
            throw UpstreamError.classify(response, service: .offlineTokens, detail: "HTTP \(response.status)")
        }
        struct Envelope: Decodable {
            struct Data: Decodable {
                struct Result: Decodable {
                    struct AuthToken: Decodable {
                        let token: Secret
                        let ttl: Int
                    }
                    let success: Bool
                    let authToken: AuthToken?
                }
                let offlineUserAuthToken: Result?
            }
            let data: Data?
        }
        guard let result = (try? JSONDecoder().decode(Envelope.self, from: response.body))?.data?.offlineUserAuthToken
        else {
            throw UpstreamError(
                kind: .transient, code: "offline_token_failed",
                message: "Atlassian sent an unexpected GraphQL response", status: 200)
        }
        guard result.success, let token = result.authToken else {
            // Its message names context ids, never a token; still, keep ours generic.
            throw UpstreamError(
                kind: .rejected, code: "impersonation_refused",
                message:
                    "Atlassian would not act as the report's owner (was the app given access, and is the user still active?)",
                status: 200)
        }
        return UserToken(token: token.token, expiresAt: Date().addingTimeInterval(TimeInterval(token.ttl)))
    }

    // MARK: Search (§4)

    public struct SearchResult: Sendable {
        public let issues: [JiraIssue]
        /// More issues matched than `cap`; the report says so rather than hiding it.
        public let capped: Bool
    }

    /// Every issue the token's user can see for `jql`, with exactly `fields`, paging with
    /// `nextPageToken` to `isLast`, stopping at `cap`.
    public func search(
        apiBaseUrl: URL, token: Secret, jql: String, fields: [String], cap: Int = 5000, pageSize: Int = 100
    ) async throws -> SearchResult {
        var issues: [JiraIssue] = []
        var received = 0
        var nextPageToken: String?
        let url = apiBaseUrl.appendingPathComponent("rest/api/3/search/jql")
        while true {
            var body: [String: Any] = [
                "jql": jql, "fields": fields, "maxResults": min(pageSize, cap - issues.count + 1),
            ]
            if let nextPageToken { body["nextPageToken"] = nextPageToken }
            let response = try await send(
                OutboundRequest(
                    method: "POST", url: url,
                    headers: [
                        "Authorization": "Bearer \(token.revealed)", "Content-Type": "application/json",
                        "Accept": "application/json",
                    ],
                    body: Data(JSONText.serialize(body, escapeAngleBrackets: false).utf8), timeout: .seconds(30)),
                service: "jira")
            received += response.body.count
            guard received <= maxSearchBytes else {
                throw UpstreamError(
                    kind: .rejected, code: "jira_response_too_large",
                    message:
                        "Jira's answers for this report passed \(maxSearchBytes >> 20) MB; narrow the query or its columns",
                    status: response.status)
            }
            switch response.status {
            case 200:
                break
            case 400:
                struct Errors: Decodable { let errorMessages: [String]? }
                let messages = (try? JSONDecoder().decode(Errors.self, from: response.body))?.errorMessages ?? []
                // Jira's own words, once: the code already says Jira refused the query.
                let text = messages.joined(separator: " ").prefix(300)
                throw UpstreamError(
                    kind: .rejected, code: "invalid_jql",
                    message: text.isEmpty ? "Jira did not accept the query (HTTP 400)" : String(text), status: 400)
            case 404:
                throw UpstreamError(
                    kind: .rejected, code: "jira_site_not_found",
                    message: "Jira does not know this site any more (was the app uninstalled?)", status: 404)
            default:
                throw UpstreamError.classify(response, service: .jiraForOwner, detail: "HTTP \(response.status)")
            }
            guard let page = JiraSearchPage(response.body) else {
                throw UpstreamError(
                    kind: .transient, code: "jira_bad_response", message: "Jira sent an unexpected search response",
                    status: 200)
            }
            issues += page.issues
            if issues.count > cap { return SearchResult(issues: Array(issues.prefix(cap)), capped: true) }
            // §4: null and absent tokens both mean the end.
            guard page.isLast != true, let token = page.nextPageToken, !page.issues.isEmpty else {
                return SearchResult(issues: issues, capped: false)
            }
            nextPageToken = token
        }
    }

    /// A saved filter's JQL, fetched at run time (§5: `jql` only with `expand=jql`).
    public func filterJQL(apiBaseUrl: URL, token: Secret, filterId: String) async throws -> String {
        var components = URLComponents(
            url: apiBaseUrl.appendingPathComponent("rest/api/3/filter/search"), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = "id=\(FormEncoding.escape(filterId))&expand=jql&maxResults=1"
        let response = try await send(
            OutboundRequest(
                url: components.url!,
                headers: ["Authorization": "Bearer \(token.revealed)", "Accept": "application/json"],
                timeout: .seconds(20)), service: "jira")
        struct Page: Decodable {
            struct Filter: Decodable {
                let id: String
                let jql: String?
            }
            let values: [Filter]
        }
        guard response.status == 200 else {
            throw UpstreamError.classify(response, service: .jiraForOwner, detail: "HTTP \(response.status)")
        }
        guard let page = try? JSONDecoder().decode(Page.self, from: response.body) else {
            throw UpstreamError(
                kind: .transient, code: "filter_unavailable", message: "Jira sent an unexpected filter response",
                status: 200)
        }
        guard let jql = page.values.first(where: { $0.id == filterId })?.jql else {
            throw UpstreamError(
                kind: .rejected, code: "filter_not_found",
                message: "the saved filter no longer exists or is not shared with the report's owner", status: 200)
        }
        return jql
    }

    // MARK: Retries (§6)

    /// 429 and 503 are retried in place per Atlassian's documented policy; past `maxRetries` the job
    /// goes back to the queue with the last suggested wait.
    func send(_ request: OutboundRequest, service: String) async throws -> OutboundResponse {
        var attempt = 0
        var lastDelay: Duration?
        while true {
            let response: OutboundResponse
            let span = UpstreamSpan(service, request, attempt: attempt + 1)
            do {
                response = try await span.send(request, over: transport)
            } catch let error as HTTPTransportError where error == .responseTooLarge(0) {
                // The same request would get the same answer: not worth a retry.
                throw UpstreamError(kind: .rejected, code: "\(service)_response_too_large", message: error.message)
            } catch let error as HTTPTransportError {
                throw UpstreamError(kind: .transient, code: "\(service)_unreachable", message: error.message)
            }
            // Redirects are not followed (the transport never does): one here means a wrong base URL
            // or an upstream we should not trust with a token, and asking again will not change it.
            if (300..<400).contains(response.status) {
                span.end()
                throw UpstreamError(
                    kind: .rejected, code: "\(service)_redirected",
                    message:
                        "\(service == "jira" ? "Jira" : "Atlassian") answered with a redirect (HTTP \(response.status)), which is not followed",
                    status: response.status)
            }
            guard response.status == 429 || response.status == 503 else {
                span.end()
                return response
            }
            let retryAfter = response.retryAfter()
            let delay = retry.delay(retryAfter: retryAfter, previous: lastDelay)
            span.throttled(wait: delay)
            guard attempt < retry.maxRetries, maxInlineWait.map({ delay <= $0 }) ?? true else {
                throw UpstreamError(
                    kind: .transient, code: "\(service)_throttled",
                    message: "\(service == "jira" ? "Jira" : "Atlassian") kept answering HTTP \(response.status)",
                    status: response.status, retryAfter: delay)
            }
            attempt += 1
            lastDelay = delay
            try await sleep(delay)
        }
    }
}

/// docs/atlassian-apis.md §6 "response-handling pseudo-code", read as its Recommendation says: `Retry-After` is the
/// minimum wait; otherwise exponential from 5 s, capped at 30 s; a jitter factor of 0.7–1.3; at most 4
/// retries inside one attempt.
public struct AtlassianRetryPolicy: Sendable {
    public var maxRetries: Int
    public var initialDelay: Duration
    public var maxDelay: Duration
    public var jitter: ClosedRange<Double>

    public static let documented = AtlassianRetryPolicy(
        maxRetries: 4, initialDelay: .seconds(5), maxDelay: .seconds(30), jitter: 0.7...1.3)

    public func delay(retryAfter: Duration?, previous: Duration?) -> Duration {
        if let retryAfter {
            // Never earlier than asked ("will fail and return the same or longer Retry-After").
            return retryAfter * Double.random(in: 1.0...jitter.upperBound)
        }
        let base = previous.map { min($0 * 2, maxDelay) } ?? initialDelay
        return min(base * Double.random(in: jitter), maxDelay * jitter.upperBound)
    }
}

extension OutboundRequest {
    /// A JSON POST with the app's system token: the offline token mint and personal data reporting.
    static func postingJSON(_ body: String, to url: URL, systemToken: Secret) -> OutboundRequest {
        OutboundRequest(
            method: "POST", url: url,
            headers: [
                "Authorization": "Bearer \(systemToken.revealed)", "Content-Type": "application/json",
                "Accept": "application/json",
            ],
            body: Data(body.utf8), timeout: .seconds(20))
    }
}
