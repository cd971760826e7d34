import Foundation
import Hummingbird

/// Who the caller is and what the site is called (docs/atlassian-apis.md §8): `GET /myself` with a
/// user's token (401 without one, as Jira answers), `GET /serverInfo` (Jira Cloud answers it
/// anonymously too). The service shows both on its connect confirmation page.
enum JiraUserRoutes {
    /// The sandbox site's title, as an administrator would have set it.
    static let siteTitle = "Sandbox Jira"

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
