import Atlassian
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Microsoft
import Reports
import Security
import Upstream

/// The Microsoft connect flow, bound to the browser that starts it and confirmed before anything is
/// stored (ConnectBrowserBinding says why):
///
/// 1. `POST /v1/microsoft/connect` (FIT): a one-time start URL on our host, valid 2 minutes.
/// 2. `GET /oauth/microsoft/start?t=…`: consumes the start token, sets the `__Host-` connect cookie,
///    and redirects to Microsoft with a state that carries the cookie's hash.
/// 3. `GET /oauth/microsoft/callback`: the state must verify (once) and come with that cookie; the
///    code is exchanged and the result parked; a confirmation page names the Microsoft account and the
///    Jira site and account it would be linked to.
/// 4. `POST /oauth/microsoft/confirm`: the page's one-time token, from the same browser: Connect
///    stores the connection, Cancel (or ten minutes without an answer) stores nothing.
enum ConnectFlowRoutes {
    static func add(to router: Router<APIRequestContext>, forge: RouterGroup<APIRequestContext>, services: APIServices)
    {
        forge.post("/v1/microsoft/connect") { _, context in
            let owner = try context.owner()
            try await services.pending.keepNames(await names(context, services), for: owner)
            let issued = services.startTokens.issue(installationId: owner.installationId, accountId: owner.accountId)
            var url = URLComponents(
                url: services.publicBase.appendingPathComponent("oauth/microsoft/start"), resolvingAgainstBaseURL: false
            )!
            url.queryItems = [URLQueryItem(name: "t", value: issued.state)]
            return ConnectStartResponse(
                startUrl: url.url!.absoluteString, expiresAt: issued.fields.expiresAt.formatted(.iso8601))
        }
        router.get("/oauth/microsoft/start") { request, context in await start(request, context, services) }
        router.get("/oauth/microsoft/callback") { request, context in await callback(request, context, services) }
        router.post("/oauth/microsoft/confirm") { request, context in await confirm(request, context, services) }
    }

    /// The Jira user's display name and the site's title, asked of Jira with the user's own token
    /// (Forge forwards it with every call from the app). Best effort: an answer that does not come (no
    /// token, a refusal, a timeout) leaves that name out; the page then says so in other words.
    static func names(_ context: APIRequestContext, _ services: APIServices) async -> ConnectNames {
        guard let identity = context.identity, let token = context.forwardedUserToken, !token.isEmpty else {
            return ConnectNames(jiraDisplayName: "", siteName: "")
        }
        async let name = try? services.jira.displayName(apiBaseUrl: identity.apiBaseUrl, userToken: token)
        async let site = try? services.jira.siteTitle(apiBaseUrl: identity.apiBaseUrl, userToken: token)
        let (jiraName, siteName) = await (name, site)
        if jiraName == nil || siteName == nil {
            context.logger.notice("Jira did not name the user or the site for the connect confirmation")
        }
        return ConnectNames(jiraDisplayName: jiraName ?? "", siteName: siteName ?? "")
    }

    static func start(_ request: Request, _ context: APIRequestContext, _ services: APIServices) async -> Response {
        guard let token = request.uri.queryParameters.get("t"), !token.isEmpty else {
            return ConnectPages.message(
                .badRequest, "Not connected", "The connect link is incomplete. Start again from the app.")
        }
        let fields: OAuthState.Fields
        do {
            fields = try await services.nonces.consume(token, verifier: services.startTokens)
        } catch let error as OAuthStateError {
            context.logger.notice("connect start refused", metadata: ["code": "\(error.codeName)"])
            return ConnectPages.message(
                .badRequest, "Not connected",
                "This connect link has expired or was already used. Start again from the app.")
        } catch {
            return ConnectPages.failure(error, context, services)
        }
        let secret = ConnectBrowserBinding.makeSecret()
        let issued = services.oauthState.issue(
            installationId: fields.installationId, accountId: fields.accountId,
            browser: ConnectBrowserBinding.hash(of: secret))
        let authorize = services.microsoft.authorizeURL(state: issued.state, codeChallenge: issued.codeChallenge)
        return Response(
            status: .found,
            headers: [
                .location: authorize.absoluteString, .setCookie: ConnectBrowserBinding.setCookie(secret),
                .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            ])
    }

    /// The OAuth redirect target. The signed, single-use state and the browser's connect cookie are
    /// the authentication; nothing is stored here, the result waits for the user's confirmation.
    static func callback(_ request: Request, _ context: APIRequestContext, _ services: APIServices) async -> Response {
        let query = request.uri.queryParameters
        guard let state = query.get("state"), !state.isEmpty else {
            return ConnectPages.message(
                .badRequest, "Not connected", "The sign-in link is incomplete. Start again from the app.")
        }
        let fields: OAuthState.Fields
        do {
            // Consumed before the cookie is checked: a flow that reached another browser is burnt.
            fields = try await services.nonces.consume(state, verifier: services.oauthState)
        } catch let error as OAuthStateError {
            context.logger.notice("OAuth state refused", metadata: ["code": "\(error.codeName)"])
            return ConnectPages.message(
                .badRequest, "Not connected", error.message.prefix(1).uppercased() + error.message.dropFirst() + ".")
        } catch {
            return ConnectPages.failure(error, context, services)
        }
        let cookie = ConnectBrowserBinding.cookie(in: request.headers[.cookie])
        guard ConnectBrowserBinding.matches(cookie: cookie, expected: fields.browser), let cookie else {
            context.logger.notice("OAuth callback refused", metadata: ["code": "browser_mismatch"])
            return ConnectPages.message(
                .badRequest, "Not connected",
                "This sign-in was not started in this browser, so it cannot finish here. "
                    + "If someone sent you this link, do not use it. To connect your own account, start from the app.")
        }
        if let denied = query.get("error") {
            let reason =
                denied == "access_denied"
                ? "You declined the permission request." : "Microsoft did not complete the sign-in."
            return ConnectPages.message(.badRequest, "Not connected", reason + " Start again from the app to connect.")
        }
        guard let code = query.get("code"), !code.isEmpty, code.utf8.count <= 4096 else {
            return ConnectPages.message(
                .badRequest, "Not connected", "Microsoft sent no authorization code. Start again from the app.")
        }
        let owner = ReportOwner(installationId: fields.installationId, accountId: fields.accountId)
        do {
            let tokens = try await services.microsoft.exchange(
                code: Secret(code), verifier: services.oauthState.codeVerifier(nonce: fields.nonce))
            let me = try await services.graph.me(accessToken: tokens.accessToken)
            let pending = PendingConnection(
                owner: owner, microsoftUserId: me.id, displayName: me.displayName ?? "",
                microsoftAccount: me.userPrincipalName ?? "")
            let confirmation = try await services.pending.park(
                pending, refreshToken: tokens.refreshToken, browser: ConnectBrowserBinding.hash(of: cookie))
            let site = try await services.installations.installation(owner.installationId)
            let names = try await services.pending.names(for: owner)
            return ConnectPages.confirmation(
                ConnectPages.Parties(
                    jiraName: names.flatMap { $0.jiraDisplayName.isEmpty ? nil : $0.jiraDisplayName },
                    siteName: names.flatMap { $0.siteName.isEmpty ? nil : $0.siteName },
                    siteHost: site?.siteUrl?.host, microsoftName: pending.displayName,
                    microsoftAddress: pending.microsoftAccount),
                token: confirmation)
        } catch let error as UpstreamError {
            context.logger.warning("Microsoft connect failed", metadata: ["code": "\(error.code)"])
            return ConnectPages.message(
                .badGateway, "Not connected", "Microsoft refused the sign-in (\(error.code)). Start again from the app."
            )
        } catch {
            return ConnectPages.failure(error, context, services)
        }
    }

    static func confirm(_ request: Request, _ context: APIRequestContext, _ services: APIServices) async -> Response {
        guard let form = try? await request.body.collect(upTo: 4096),
            let fields = URLComponents(string: "?" + String(buffer: form).replacingOccurrences(of: "+", with: "%20"))?
                .queryItems,
            let token = fields.first(where: { $0.name == "token" })?.value, !token.isEmpty,
            let decision = fields.first(where: { $0.name == "decision" })?.value,
            ["connect", "cancel"].contains(decision)
        else {
            return ConnectPages.message(
                .badRequest, "Not connected", "The confirmation was incomplete. Start again from the app.")
        }
        guard let cookie = ConnectBrowserBinding.cookie(in: request.headers[.cookie]) else {
            return ConnectPages.message(
                .badRequest, "Not connected",
                "This confirmation did not come from the browser that signed in. Start again from the app.")
        }
        do {
            switch try await services.pending.take(
                token: token, browser: ConnectBrowserBinding.hash(of: cookie), confirm: decision == "connect")
            {
            case .taken(let pending) where decision == "connect":
                context.logger.info("Microsoft connected", metadata: ["account": "\(pending.owner.accountId)"])
                return ConnectPages.message(
                    .ok, "Connected",
                    "Your Microsoft account\(pending.displayName.isEmpty ? "" : " (\(pending.displayName))") is connected. You can close this window and return to Jira.",
                    clearCookie: true)
            case .taken:
                return ConnectPages.message(
                    .ok, "Not connected", "Nothing was connected and nothing was stored. You can close this window.",
                    clearCookie: true)
            case .expired:
                return ConnectPages.message(
                    .badRequest, "Not connected",
                    "This confirmation expired, so nothing was stored. Start again from the app.", clearCookie: true)
            case .unknown:
                return ConnectPages.message(
                    .badRequest, "Not connected",
                    "This confirmation is not valid here (already answered, or from another browser). Start again from the app."
                )
            }
        } catch {
            return ConnectPages.failure(error, context, services)
        }
    }
}
