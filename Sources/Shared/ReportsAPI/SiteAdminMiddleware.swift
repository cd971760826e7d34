import Atlassian
import HTTPTypes
import Hummingbird
import Security
import Upstream

/// Lets through only a Jira administrator's call from the app's admin page (docs/atlassian-apis.md
/// §11). Three checks, each its own refusal: the FIT comes from the admin page module
/// (`FORGE_ADMIN_MODULE_KEY`; 403 `admin_page_only`), names a user (403 `user_required`), and Jira
/// says, asked with the user's forwarded token, that the user holds the global permission `ADMINISTER`
/// (403 `jira_admin_required`, also when Jira refuses the token; 400 `user_token_required` without one). Forge shows the admin page
/// to Jira administrators only; the remote does not take the page's word for it, and asks Jira on
/// every call (no cache: a revoked admin is refused at once, and the page makes few calls).
struct SiteAdminMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    /// "Administer Jira", the global permission of Jira's administrators.
    static let permission = "ADMINISTER"

    let services: APIServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let identity = context.identity else { throw APIError.unauthorized("missing Forge Invocation Token") }
        guard identity.invokingModuleKey == services.adminModuleKey else {
            throw APIError(.forbidden, .adminPageOnly, "this call is answered only from the app's admin page")
        }
        _ = try context.owner()
        let (_, token) = try context.forwardedUser()
        let isAdmin: Bool
        do {
            isAdmin = try await services.jira.hasGlobalPermission(
                Self.permission, apiBaseUrl: identity.apiBaseUrl, userToken: token)
        } catch let error as UpstreamError where [.rejected, .reconnectRequired].contains(error.kind) {
            // Jira refused the caller's own token: nothing confirms an administrator.
            throw APIError(.forbidden, .jiraAdminRequired, "Jira did not confirm that you administer this site")
        } catch let error as UpstreamError {
            throw APIRoutes.upstream(error)
        }
        guard isAdmin else {
            throw APIError(.forbidden, .jiraAdminRequired, "only a Jira administrator of this site may use this page")
        }
        return try await next(request, context)
    }
}
