public import Hummingbird
import Reports
import Security

/// Per-request state: the verified caller, once the FIT middleware has run.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var identity: FITIdentity?
    /// The user token Forge forwarded (`x-forge-oauth-user`), for live Jira calls and Run now.
    var forwardedUserToken: Secret?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// JSON bodies are small: a report definition is well under 64 KB.
    public var maxUploadSize: Int { 64 * 1024 }

    /// Typed responses are written as the API always wrote JSON (APIResponseEncoder).
    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }

    /// The verified caller as a report owner; 403 when the FIT names no user (triggers, lifecycle).
    func owner() throws -> ReportOwner {
        guard let identity else { throw APIError.unauthorized("missing Forge Invocation Token") }
        guard let account = identity.principalAccountId, !account.isEmpty else {
            throw APIError(.forbidden, .userRequired, "this call must be made on behalf of a user")
        }
        return ReportOwner(installationId: identity.installationId, accountId: account)
    }

    /// The verified caller and the user token Forge forwarded for live Jira calls; 400
    /// `user_token_required` without one.
    func forwardedUser() throws -> (identity: FITIdentity, token: Secret) {
        guard let identity, let token = forwardedUserToken, !token.isEmpty else {
            throw APIError(.badRequest, .userTokenRequired, "Forge did not forward a user token (x-forge-oauth-user)")
        }
        return (identity, token)
    }
}
