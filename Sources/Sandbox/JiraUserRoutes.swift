import Foundation
import Hummingbird

/// Who the caller is and what the site is called (docs/atlassian-apis.md §8): `GET /myself` with a
/// user's token (401 without one, as Jira answers), `GET /serverInfo` (Jira Cloud answers it
/// anonymously too). The service shows both on its connect confirmation page.
enum JiraUserRoutes {
    /// The sandbox site's title, as an administrator would have set it.
    static let siteTitle = "Sandbox Jira"

    /// The global permissions `GET /mypermissions` knows here (Jira has more).
    static let globalPermissions: [String: (id: String, name: String)] = [
        "ADMINISTER": ("0", "Administer Jira"), "USER_PICKER": ("27", "Browse users and groups"),
    ]

    static func add(to jira: RouterGroup<BasicRequestContext>, state: SandboxState) {
        jira.get("/myself") { request, _ in
            state.count("jira-myself")
            guard let user = state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]),
                let accountId = user.accountId, let account = state.seed.account(accountId)
            else {
                return SandboxHTTP.jiraError(
                    .unauthorized, "You are not authorized to perform this operation. Please log in.")
            }
            let origin = "\(state.origin(for: request))/ex/jira/\(state.cloudId)"
            return SandboxHTTP.json(
                .ok,
                [
                    "self": "\(origin)/rest/api/3/user?accountId=\(accountId)", "accountId": accountId,
                    "accountType": "atlassian", "displayName": account.displayName, "active": true,
                    "timeZone": "Europe/Berlin", "locale": "en_US",
                ])
        }
        // The caller's permissions (docs/atlassian-apis.md §11): `permissions` is required; the global
        // permission ADMINISTER is the sandbox admin's (`POST /sandbox/site-admins` changes who holds it).
        jira.get("/mypermissions") { request, _ in
            state.count("jira-mypermissions")
            guard let user = state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]),
                let accountId = user.accountId
            else {
                return SandboxHTTP.jiraError(
                    .unauthorized, "You are not authorized to perform this operation. Please log in.")
            }
            let keys = (request.uri.queryParameters.get("permissions") ?? "").split(separator: ",").map(String.init)
            guard !keys.isEmpty else {
                return SandboxHTTP.jiraError(.badRequest, "The 'permissions' query parameter is required.")
            }
            guard keys.allSatisfy(globalPermissions.keys.contains) else {
                return SandboxHTTP.jiraError(.badRequest, "Unrecognized permission key.")
            }
            let permissions = keys.reduce(into: [String: Any]()) { answer, key in
                answer[key] = [
                    "id": globalPermissions[key]!.id, "key": key, "name": globalPermissions[key]!.name,
                    "type": "GLOBAL",
                    "description": globalPermissions[key]!.name,
                    "havePermission": key == "ADMINISTER" ? state.isSiteAdmin(accountId) : true,
                ]
            }
            return SandboxHTTP.json(.ok, ["permissions": permissions])
        }
        // Users by account id, a page at a time (at most 10 here, Jira's default page): unknown ids are
        // left out, as Jira does.
        jira.get("/user/bulk") { request, _ in
            state.count("jira-user-bulk")
            guard state.verifyToken(request.headers[.authorization], kinds: [.user, .offline]) != nil else {
                return SandboxHTTP.jiraError(
                    .unauthorized, "You are not authorized to perform this operation. Please log in.")
            }
            let ids = request.uri.queryParameters.getAll("accountId")
            guard !ids.isEmpty else { return SandboxHTTP.jiraError(.badRequest, "accountId is required.") }
            let startAt = max(request.uri.queryParameters.get("startAt").flatMap(Int.init) ?? 0, 0)
            let pageSize = min(max(request.uri.queryParameters.get("maxResults").flatMap(Int.init) ?? 10, 1), 10)
            let known = ids.compactMap { state.seed.account(String($0)) }
            let page = known.dropFirst(startAt).prefix(pageSize)
            return SandboxHTTP.json(
                .ok,
                [
                    "startAt": startAt, "maxResults": pageSize, "total": known.count,
                    "isLast": startAt + page.count >= known.count,
                    "values": page.map {
                        [
                            "accountId": $0.accountId, "accountType": "atlassian", "displayName": $0.displayName,
                            "active": true,
                        ]
                    },
                ])
        }
        jira.get("/serverInfo") { _, _ in
            state.count("jira-server-info")
            return SandboxHTTP.json(
                .ok,
                [
                    "baseUrl": "https://sandbox.atlassian.net", "displayUrl": "https://sandbox.atlassian.net",
                    "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud",
                    "buildNumber": 100_000, "serverTitle": siteTitle,
                    "serverTime": Date().formatted(.iso8601),
                ])
        }
    }
}
