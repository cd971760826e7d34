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
        forge.get("/v1/jira/fields") { request, context in try await fields(request, context) }
    }

    /// The fields a report may show, found by name or id: the standard columns and the site's custom
    /// fields this user can see, at most `FieldTypes.maxListed`.
    private func fields(_ request: Request, _ context: APIRequestContext) async throws -> FieldListResponse {
        let owner = try context.owner()
        let (identity, token) = try context.forwardedUser()
        let query = request.uri.queryParameters.get("query") ?? ""
        guard query.unicodeScalars.count <= 200 else {
            throw APIError.badRequest(.invalidParameter, "query must be at most 200 characters")
        }
        let listed: [JiraField]
        do {
            listed = try await services.fieldLists.fields(for: owner) {
                try await services.jira.fields(apiBaseUrl: identity.apiBaseUrl, userToken: token)
            }
        } catch let error as UpstreamError where error.code == "jira_forbidden" {
            throw APIError(.forbidden, error.code, error.message)
        } catch let error as UpstreamError {
            throw APIRoutes.upstream(error)
        }
        let (fields, truncated) = FieldTypes.choices(listed, matching: query)
        return FieldListResponse(fields: fields, truncated: truncated)
    }

    private func filters(_ request: Request, _ context: APIRequestContext) async throws -> FilterListResponse {
        _ = try context.owner()
        let (identity, token) = try context.forwardedUser()
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
