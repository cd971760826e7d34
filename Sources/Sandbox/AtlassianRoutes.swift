import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import ReportsSupport
import Security

/// Forge and Jira Cloud stand-ins. Each behaviour cites the section of docs/atlassian-apis.md
/// it follows.
enum AtlassianRoutes {
    static func add(to router: Router<BasicRequestContext>, state: SandboxState) {
        // §1.5: the JWKS the product trusts by configuration (FORGE_JWKS_URL).
        router.get("/.well-known/jwks.json") { _, _ in
            state.count("jwks")
            return SandboxHTTP.json(.ok, state.jwks)
        }
        router.post("/sandbox/rotate-keys") { _, _ in
            let kid = try await state.rotateKeys()
            return SandboxHTTP.json(.ok, ["kid": kid])
        }
        router.post("/sandbox/fit") { request, _ in try await mintFIT(request, state) }
        router.post("/graphql") { request, _ in try await graphQL(request, state) }

        let jira = router.group("/ex/jira/{cloudId}/rest/api/3")
        jira.get("/search/jql") { request, context in
            let query = request.uri.queryParameters
            return try search(
                request, context, state,
                parameters: SearchParameters(
                    jql: query.get("jql"), nextPageToken: query.get("nextPageToken"),
                    maxResults: query.get("maxResults").flatMap(Int.init),
                    fields: query.get("fields").map { $0.split(separator: ",").map(String.init) }))
        }
        jira.post("/search/jql") { request, context in
            guard let body = try await SandboxHTTP.jsonObject(request) else {
                return SandboxHTTP.jiraError(.badRequest, "The request body is not valid JSON.")
            }
            return try search(
                request, context, state,
                parameters: SearchParameters(
                    jql: body["jql"] as? String, nextPageToken: body["nextPageToken"] as? String,
                    maxResults: body["maxResults"] as? Int,
                    fields: body["fields"] as? [String]))
        }
        // §4 "What happened to /rest/api/3/search": removed, 410 with this body.
        for method in [HTTPRequest.Method.get, .post] {
            jira.on("/search", method: method) { _, _ in
                state.count("search-removed")
                return SandboxHTTP.json(
                    .gone,
                    [
                        "errorMessages": [
                            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
                        ],
                        "errors": [String: Any](),
                    ])
            }
        }
        jira.get("/filter/search") { request, context in try filters(request, context, state) }
        jira.post("/jql/parse") { request, context in try await JQLParseRoute.parse(request, context, state) }
        // The site's fields as the caller sees them (docs/jira-fields.md).
        jira.get("/field") { request, context in
            state.count("fields")
            guard context.parameters.get("cloudId") == state.cloudId else {
                return SandboxHTTP.jiraError(.notFound, "No site with that cloud id.")
            }
            guard let user = state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]),
                let accountId = user.accountId
            else {
                return SandboxHTTP.jiraError(
                    .unauthorized, "You are not authorized to perform this operation. Please log in.")
            }
            return SandboxHTTP.json(.ok, SandboxFields.list(for: accountId))
        }
        JiraUserRoutes.add(to: jira, state: state)
    }

    /// The development aid of the fixed interface: a FIT with exactly the documented claims (§1.3)
    /// plus matching system and user tokens (§2). `{"trigger": true}` instead of an account mints what
    /// Forge sends a scheduled trigger or a lifecycle event: no principal, a system token, no user token.
    /// `"license": "active"` or `"inactive"` adds the licence claim a paid app's tokens carry in
    /// production (§10); without it the token says what `POST /sandbox/license` set (by default nothing,
    /// as in development).
    static func mintFIT(_ request: Request, _ state: SandboxState) async throws -> Response {
        let body = (try? await SandboxHTTP.jsonObject(request)) ?? nil
        let trigger = body?["trigger"] as? Bool == true
        let accountId = body?["accountId"] as? String
        guard let body, trigger != (accountId.map { !$0.isEmpty } ?? false) else {
            return SandboxHTTP.json(
                .badRequest,
                [
                    "error":
                        "send {\"accountId\": \"sandbox-user-1\"} or {\"trigger\": true} (optional installationId, ttlSeconds)"
                ])
        }
        let installationId = body["installationId"] as? String ?? state.installationId
        let ttl = min(max(body["ttlSeconds"] as? Int ?? 25, 1), 3600)
        let license: Bool?
        switch body["license"] as? String {
        case nil: license = state.license
        case "active": license = true
        case "inactive": license = false
        default: return SandboxHTTP.json(.badRequest, ["error": "license is \"active\" or \"inactive\""])
        }
        guard let module = UIModule(rawValue: body["module"] as? String ?? "page") else {
            return SandboxHTTP.json(.badRequest, ["error": "module is \"page\" or \"admin\""])
        }
        let answer = try await invocation(
            accountId: trigger ? nil : accountId, installationId: installationId, ttl: ttl,
            origin: state.origin(for: request), license: license, module: module, state)
        return SandboxHTTP.json(.ok, answer)
    }

    /// What Forge attaches to one invocation: the FIT, the app system token and, for a user, the user
    /// token. The Jira stand-in page (JiraHostRoutes) uses it for each call of the UI.
    static func invocation(
        accountId: String?, installationId: String, ttl: Int, origin: String, license: Bool?? = .none,
        module: UIModule = .page, _ state: SandboxState
    ) async throws -> [String: Any] {
        // Unless the caller says, the site's licence as `POST /sandbox/license` set it.
        let license = license ?? state.license
        let trigger = accountId == nil
        let apiBaseUrl = "\(origin)/ex/jira/\(state.cloudId)"
        let now = Int(Date().timeIntervalSince1970)
        let claims = FITClaims(
            app: .init(
                id: state.appId, version: "1", appVersion: "1.0.0", installationId: installationId,
                apiBaseUrl: apiBaseUrl,
                environment: .init(type: "DEVELOPMENT", id: "ari:cloud:ecosystem::environment/sandbox/development"),
                module: trigger
                    ? .init(type: "core:trigger", key: "remote-installed-trigger")
                    : .init(type: module.type, key: module.key),
                installation: .init(id: installationId, contexts: [.init(name: "jira", apiBaseUrl: apiBaseUrl)]),
                license: license.map {
                    .init(
                        isActive: $0, billingPeriod: "MONTHLY", isEvaluation: false, type: "commercial",
                        subscriptionEndDate: $0 ? nil : "2026-11-30T00:00:00.000Z")
                }),
            // As Forge does (atlassian-apis.md §1.3, an observed lifecycle-trigger FIT): only a call from
            // the UI carries the site's URL; events and triggers carry the cloud id and module key alone.
            context: .init(
                cloudId: state.cloudId, moduleKey: trigger ? "remote-installed-trigger" : module.key,
                siteUrl: trigger ? nil : "https://sandbox.atlassian.net"),
            principal: trigger ? nil : accountId, aud: state.appId, iss: "forge/invocation-token", iat: now, nbf: now,
            exp: now + ttl,
            jti: UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        let key = state.currentKey
        let fit = try await key.collection.sign(claims, kid: JWKIdentifier(string: key.kid))
        // §2 "Expiry and refresh": system tokens from triggers last at least 2 hours.
        let system = state.issueToken(.system, accountId: nil, installationId: installationId, ttl: 4 * 3600)
        state.count("fit")
        var answer: [String: Any] = [
            "fit": fit, "systemToken": system.token, "appId": state.appId,
            "installationId": installationId, "cloudId": state.cloudId, "apiBaseUrl": apiBaseUrl,
        ]
        // A user token needs a user in session, so Forge sends none to triggers (§2).
        if let accountId {
            answer["userToken"] =
                state.issueToken(.user, accountId: accountId, installationId: installationId, ttl: 3600).token
        }
        return answer
    }

    /// The app's UI modules (deploy/forge/manifest.yml): a call from the frontend names its module in
    /// `app.module` and `context.moduleKey` (docs/atlassian-apis.md §1.3).
    enum UIModule: String {
        case page, admin
        var key: String { self == .page ? "onenote-reports-page" : "onenote-reports-admin" }
        var type: String { self == .page ? "jira:globalPage" : "jira:adminPage" }
    }

    struct FITClaims: JWTPayload {
        struct App: Codable {
            struct Environment: Codable {
                let type: String
                let id: String
            }
            struct Module: Codable {
                let type: String
                let key: String
            }
            struct Installation: Codable {
                struct Context: Codable {
                    let name: String
                    let apiBaseUrl: String
                }
                let id: String
                let contexts: [Context]
            }
            let id: String
            let version: String
            let appVersion: String
            let installationId: String
            let apiBaseUrl: String
            let environment: Environment
            let module: Module
            let installation: Installation
            /// §10: a paid app's licence in production; left out when nil (development).
            let license: License?
        }
        struct License: Codable {
            let isActive: Bool
            let billingPeriod: String
            let isEvaluation: Bool
            let type: String
            let subscriptionEndDate: String?
        }
        struct Context: Codable {
            let cloudId: String
            let moduleKey: String
            /// Left out of the JSON when nil (a trigger's context has no such key).
            let siteUrl: String?
        }
        let app: App
        let context: Context
        let principal: String?
        let aud: String
        let iss: String
        let iat: Int
        let nbf: Int
        let exp: Int
        let jti: String
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// §3: `offlineUserAuthToken` with the system token; the workspace-ARI `contextIds` form (the form an
    /// Atlassian staff member gave; the reference marks the format UNCONFIRMED, so the sandbox accepts
    /// only that documented reading).
    static func graphQL(_ request: Request, _ state: SandboxState) async throws -> Response {
        state.count("graphql")
        guard let system = state.verifyToken(request.headers[.authorization], kinds: [.system]) else {
            return SandboxHTTP.json(
                .unauthorized, ["errors": [["message": "Unauthorized", "extensions": ["statusCode": 401]]]])
        }
        guard let body = try await SandboxHTTP.jsonObject(request), let query = body["query"] as? String,
            query.contains("offlineUserAuthToken")
        else {
            return SandboxHTTP.json(
                .badRequest, ["errors": [["message": "The sandbox knows only the offlineUserAuthToken mutation."]]])
        }
        let input = ((body["variables"] as? [String: Any])?["input"] as? [String: Any]) ?? [:]
        let contextIds = input["contextIds"] as? [String] ?? []
        let userId = input["userId"] as? String ?? ""
        let expectedContext = "ari:cloud:jira:\(state.cloudId):workspace/\(state.cloudId)"
        let extensions: [String: Any] = [
            "gateway": [
                "request_id": UUID().uuidString, "trace_id": UUID().uuidString, "crossRegion": false,
                "edgeCrossRegion": false,
            ]
        ]
        guard contextIds.contains(expectedContext), state.seed.account(userId) != nil else {
            // The documented failure shape (§3, community thread).
            return SandboxHTTP.json(
                .ok,
                [
                    "data": [
                        "offlineUserAuthToken": [
                            "success": false,
                            "errors": [
                                [
                                    "message":
                                        "Could not load permissions for app user in the provided contextIds of [\(contextIds.joined(separator: ", "))]"
                                ]
                            ],
                            "authToken": NSNull(),
                        ]
                    ],
                    "extensions": extensions,
                ])
        }
        let ttl = 3600  // §3: typical value UNCONFIRMED; a 3P mock uses 3600.
        let token = state.issueToken(.offline, accountId: userId, installationId: system.installationId, ttl: ttl)
        return SandboxHTTP.json(
            .ok,
            [
                "data": [
                    "offlineUserAuthToken": [
                        "success": true, "errors": [Any](), "authToken": ["token": token.token, "ttl": ttl],
                    ]
                ],
                "extensions": extensions,
            ])
    }

    struct SearchParameters {
        let jql: String?
        let nextPageToken: String?
        let maxResults: Int?
        let fields: [String]?
    }

    /// §4: the enhanced search. User (or offline user) token required; fields default to ids only;
    /// `nextPageToken` paging with `isLast`; no `total`; bounded JQL only.
    static func search(
        _ request: Request, _ context: BasicRequestContext, _ state: SandboxState, parameters: SearchParameters
    ) throws -> Response {
        state.count("search-jql")
        guard context.parameters.get("cloudId") == state.cloudId else {
            return SandboxHTTP.jiraError(.notFound, "No site with that cloud id.")
        }
        guard let user = state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]),
            let accountId = user.accountId
        else {
            return SandboxHTTP.jiraError(
                .unauthorized, "You are not authorized to perform this operation. Please log in.")
        }
        let query: JQLQuery
        do {
            query = try JQLQuery(parameters.jql ?? "")
        } catch {
            return SandboxHTTP.jiraError(.badRequest, error.message)
        }
        let fields = parameters.fields ?? ["id"]
        let idsOnly = Set(fields).isSubset(of: ["id", "key"])
        // "max 5000 issues" with ids only; fewer per page when fields are requested (§4). The sandbox caps at 100.
        let cap = idsOnly ? 5000 : 100
        let maxResults = min(max(parameters.maxResults ?? 50, 1), cap)
        let visible = state.seed.issues.filter { issue in
            (issue.visibleTo?.contains(accountId) ?? true) && query.matches(issue, currentUser: accountId)
        }
        let sorted = query.sorted(visible)
        var offset = 0
        if let token = parameters.nextPageToken {
            guard let data = Base64URL.decode(token), let value = Int(String(decoding: data, as: UTF8.self)), value >= 0
            else {
                return SandboxHTTP.jiraError(.badRequest, "The nextPageToken is invalid.")
            }
            offset = value
        }
        let page = Array(sorted.dropFirst(offset).prefix(maxResults))
        let isLast = offset + page.count >= sorted.count
        let origin = "\(state.origin(for: request))/ex/jira/\(state.cloudId)"
        var body: [String: Any] = [
            "issues": page.map { IssueJSON.issue($0, fields: fields, origin: origin, accountId: accountId) },
            "isLast": isLast,
        ]
        if !isLast { body["nextPageToken"] = Base64URL.encode(Data(String(offset + page.count).utf8)) }
        return SandboxHTTP.json(.ok, body)
    }

    /// §5: saved filters the caller can see (own or shared), paged; `jql` only with `expand=jql`.
    static func filters(_ request: Request, _ context: BasicRequestContext, _ state: SandboxState) throws -> Response {
        state.count("filter-search")
        guard let user = state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]),
            let accountId = user.accountId
        else {
            return SandboxHTTP.jiraError(
                .unauthorized, "You are not authorized to perform this operation. Please log in.")
        }
        let query = request.uri.queryParameters
        let expand = Set(
            (query.get("expand") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let startAt = max(Int(query.get("startAt") ?? "0") ?? 0, 0)
        let maxResults = min(max(Int(query.get("maxResults") ?? "50") ?? 50, 1), 100)
        let name = query.get("filterName")?.lowercased()
        // §5: `id` (repeatable) restricts the search to those filters.
        let ids = Set(query.getAll("id"))
        let visible = state.seed.filters
            .filter { $0.shared || $0.owner == accountId }
            .filter { ids.isEmpty || ids.contains($0.id) }
            .filter { name == nil || name!.isEmpty || $0.name.lowercased().contains(name!) }
            .sorted { $0.name < $1.name }
        let page = Array(visible.dropFirst(startAt).prefix(maxResults))
        let origin = "\(state.origin(for: request))/ex/jira/\(state.cloudId)"
        return SandboxHTTP.json(
            .ok,
            [
                "self": "\(origin)/rest/api/3/filter/search?startAt=\(startAt)&maxResults=\(maxResults)",
                "maxResults": maxResults, "startAt": startAt, "total": visible.count,
                "isLast": startAt + page.count >= visible.count,
                "values": page.map { filter -> [String: Any] in
                    var value: [String: Any] = [
                        "id": filter.id, "name": filter.name, "self": "\(origin)/rest/api/3/filter/\(filter.id)",
                        "owner": [
                            "accountId": filter.owner,
                            "displayName": state.seed.account(filter.owner)?.displayName ?? "", "active": true,
                            "accountType": "atlassian",
                        ],
                    ]
                    if expand.contains("jql") { value["jql"] = filter.jql }
                    return value
                },
            ])
    }
}

/// The IssueBean shape of §4's sample, restricted to the requested fields.
enum IssueJSON {
    static func issue(_ issue: SeedData.Issue, fields requested: [String], origin: String, accountId: String? = nil)
        -> [String: Any]
    {
        var body: [String: Any] = ["id": String(issue.id), "self": "\(origin)/rest/api/3/issue/\(issue.id)"]
        let wantsAll = requested.contains("*all") || requested.contains("*navigable")
        let wanted = Set(requested)
        if wanted.contains("key") || wantsAll || !(wanted.isSubset(of: ["id"])) { body["key"] = issue.key }
        var fields: [String: Any] = [:]
        func include(_ name: String) -> Bool { wantsAll || wanted.contains(name) }
        if include("summary") { fields["summary"] = issue.summary }
        if include("status") {
            fields["status"] = [
                "name": issue.status.name, "id": issue.status.id,
                "self": "\(origin)/rest/api/3/status/\(issue.status.id)",
                "statusCategory": [
                    "id": issue.status.categoryId, "key": issue.status.categoryKey, "colorName": issue.status.colorName,
                    "name": issue.status.categoryName,
                ],
            ]
        }
        if include("assignee") { fields["assignee"] = issue.assignee.map(user) ?? NSNull() }
        if include("reporter") { fields["reporter"] = user(issue.reporter) }
        if include("priority") {
            fields["priority"] = [
                "name": issue.priority,
                "id": String(["Highest", "High", "Medium", "Low"].firstIndex(of: issue.priority).map { $0 + 1 } ?? 3),
            ]
        }
        if include("issuetype") {
            fields["issuetype"] = [
                "name": issue.issueType, "id": issue.issueType == "Bug" ? "10004" : "10001", "subtask": false,
            ]
        }
        if include("created") { fields["created"] = jiraDate(issue.created) }
        if include("updated") { fields["updated"] = jiraDate(issue.updated) }
        if include("labels") { fields["labels"] = issue.labels }
        if include("project") {
            fields["project"] = ["key": issue.project, "name": issue.project == "OPS" ? "Operations" : "Web"]
        }
        if include("duedate") { fields["duedate"] = NSNull() }
        if include("description") { fields["description"] = SandboxFields.releaseNotes(issue.id) }
        if include("timespent") { fields["timespent"] = (issue.id % 4) * 5_400 }
        SandboxFields.systemValues(issue, include: include, into: &fields)
        for field in SandboxFields.customFields
        where include(field.id) && SandboxFields.isVisible(field.id, to: accountId) {
            fields[field.id] = SandboxFields.value(
                field.id, index: issue.id - 10_000, accounts: [SeedData.user1, SeedData.user2])
        }
        if !fields.isEmpty { body["fields"] = fields }
        return body
    }

    static func user(_ account: SeedData.Account) -> [String: Any] {
        [
            "accountId": account.accountId, "displayName": account.displayName, "active": true,
            "accountType": "atlassian", "timeZone": "Europe/Berlin",
        ]
    }

    /// §4: `yyyy-MM-dd'T'HH:mm:ss.SSSZ` with a `+0000` offset.
    static func jiraDate(_ milliseconds: Int64) -> String {
        Timestamp.iso8601(milliseconds: milliseconds).replacingOccurrences(of: "Z", with: "+0000")
    }
}
