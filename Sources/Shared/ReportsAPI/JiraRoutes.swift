import Atlassian
import Hummingbird
import Security
import Upstream

/// Live Jira reads for the report editor, made with the user token Forge forwards (never an offline
/// token: the editor shows what this user may see now).
struct JiraRoutes {
    let services: APIServices

    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        forge.get("/v1/jira/filters") { request, context in try await filters(request, context) }
    }

    private func filters(_ request: Request, _ context: APIRequestContext) async throws -> FilterListResponse {
        _ = try context.owner()
        guard let identity = context.identity, let token = context.forwardedUserToken, !token.isEmpty else {
            throw APIError(.badRequest, .userTokenRequired, "Forge did not forward a user token (x-forge-oauth-user)")
        }
        let query = request.uri.queryParameters.get("query")
        guard (query?.unicodeScalars.count ?? 0) <= 200 else {
            throw APIError.badRequest(.invalidParameter, "query must be at most 200 characters")
        }
        do {
            let found = try await services.jira.filters(apiBaseUrl: identity.apiBaseUrl, userToken: token, query: query)
            return FilterListResponse(
                filters: found.filters.map { FilterListResponse.Filter(id: $0.id, name: $0.name, jql: $0.jql) },
                truncated: found.truncated)
        } catch let error as UpstreamError where error.code == "jira_forbidden" {
            // Jira refused the token Forge forwarded for this user: the caller's credential, not an outage.
            throw APIError(.forbidden, error.code, error.message)
        } catch let error as UpstreamError {
            throw APIRoutes.upstream(error)
        }
    }
}
