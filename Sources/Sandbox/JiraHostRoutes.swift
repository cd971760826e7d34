import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ReportsSupport
import Synchronization
import Transport

/// The sandbox playing Jira's part for the Custom UI (docs/forge-ui.md): a page that hosts
/// the UI in an iframe on another origin, as Jira does, and carries out its bridge calls the way Forge
/// does. The browser never holds a token: the page posts the UI's `invokeRemote` input here, and this
/// server mints the FIT and tokens for the chosen sandbox account, calls `enqueuer serve`, and hands
/// back only status, headers and body.
///
/// - `GET /jira/app?account=ID[&page=admin]`: the host page (account switcher, the iframe, the link
///   prompt): the app's page, or its admin page as Jira's Manage apps → Configure opens it.
/// - `GET /jira/ui/…`: the UI's files from `--ui-dir`, unchanged but for an import map in the two pages
///   that points `@forge/bridge` at the double, under a content security policy as strict as Forge's.
/// - `GET /jira/forge-bridge.js`: the bridge double (`invokeRemote`, `router.open`) the import map names.
/// - `POST /jira/invoke`: one invocation, `{"accountId", "module", "input": {path, method, headers, body}}`;
///   the FIT names the module (`page` or `admin`) as Forge names the module a call comes from.
final class JiraHost: Sendable {
    let state: SandboxState
    /// Where `enqueuer serve` listens (`--api-url`); nil answers the UI's calls with 503.
    let apiURL: URL?
    let uiDirectory: String
    let transport: any HTTPTransport
    private let installed = Mutex(false)

    init(state: SandboxState, apiURL: URL?, uiDirectory: String) {
        self.state = state
        self.apiURL = apiURL
        self.uiDirectory = uiDirectory
        transport = CurlTransport(policy: .sandbox)
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/jira/app") { [self] request, _ in
            let account = request.uri.queryParameters.get("account") ?? SeedData.user1.accountId
            let module = AtlassianRoutes.UIModule(rawValue: request.uri.queryParameters.get("page") ?? "page") ?? .page
            var page = html(
                JiraHostPage.host(
                    accounts: state.seed.accounts, selected: account, module: module, uiOrigin: uiOrigin(request)))
            page.headers[.contentSecurityPolicy] = JiraHostPage.hostPolicy(uiOrigin: uiOrigin(request))
            page.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
            return page
        }
        router.get("/jira/forge-bridge.js") { [self] request, _ in
            Self.file(JiraHostPage.bridgeDouble(hostOrigin: state.origin(for: request)), type: "text/javascript")
        }
        router.get("/jira/host.js") { [self] request, _ in
            Self.file(JiraHostPage.hostScript(uiOrigin: uiOrigin(request)), type: "text/javascript")
        }
        router.get("/jira/ui/**") { [self] request, context in try uiFile(request, context) }
        router.post("/jira/invoke") { [self] request, _ in try await invoke(request) }
    }

    /// The UI runs on another origin than the page, as Forge's CDN does: `localhost` against the
    /// page's `127.0.0.1`, same port.
    private func uiOrigin(_ request: Request) -> String {
        state.origin(for: request).replacingOccurrences(of: "//127.0.0.1:", with: "//localhost:")
    }

    // MARK: The UI's files

    private func uiFile(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let relative = context.parameters.getCatchAll().joined(separator: "/")
        let parts = relative.split(separator: "/")
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0.hasPrefix(".") }) else {
            return SandboxHTTP.json(.notFound, ["error": "no such file"])
        }
        let path = uiDirectory + "/" + parts.joined(separator: "/")
        guard let data = FileManager.default.contents(atPath: path) else {
            return SandboxHTTP.json(.notFound, ["error": "no such file"])
        }
        let type: String
        switch (relative as NSString).pathExtension {
        case "html": type = "text/html; charset=utf-8"
        case "js": type = "text/javascript"
        case "css": type = "text/css"
        case "svg": type = "image/svg+xml"
        default: type = "application/octet-stream"
        }
        guard relative == "index.html" || relative == "admin.html" else {
            return Self.file(String(decoding: data, as: UTF8.self), type: type)
        }
        // The import map is the one script not from a file; the policy allows it by its hash alone.
        let map = JiraHostPage.importMap(bridgeURL: "\(uiOrigin(request))/jira/forge-bridge.js")
        let page = String(decoding: data, as: UTF8.self).replacingOccurrences(
            of: "<head>", with: "<head>\n<script type=\"importmap\">\(map)</script>")
        var response = Self.file(page, type: type)
        response.headers[.contentSecurityPolicy] = JiraHostPage.uiPolicy(
            importMap: map, hostOrigin: state.origin(for: request))
        return response
    }

    private static func file(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private func html(_ text: String) -> Response { Self.file(text, type: "text/html; charset=utf-8") }

    // MARK: Invocations

    private func invoke(_ request: Request) async throws -> Response {
        // Acts as any seeded account, so only the host page may call it: a JSON body (a cross-origin
        // form or `text/plain` post cannot set that type without a preflight, which this route never
        // answers) from this sandbox's own origin.
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return SandboxHTTP.json(.unsupportedMediaType, ["error": "send the invocation as application/json"])
        }
        // The origin must also be a loopback one: it is read from the Host header, which a DNS-rebound
        // page on another name would set to its own.
        guard let caller = request.headers[.origin], caller == state.origin(for: request),
            let host = URL(string: caller)?.host, OutboundURLPolicy.isLoopback(host)
        else {
            return SandboxHTTP.json(.forbidden, ["error": "invocations come only from the Jira page of this sandbox"])
        }
        guard let body = try? await SandboxHTTP.jsonObject(request), let accountId = body["accountId"] as? String,
            state.seed.account(accountId) != nil, let input = body["input"] as? [String: Any],
            let module = AtlassianRoutes.UIModule(rawValue: body["module"] as? String ?? "page"),
            let path = input["path"] as? String, path.hasPrefix("/"),
            let method = input["method"] as? String, ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method)
        else {
            return SandboxHTTP.json(
                .badRequest, ["error": "send {accountId, module?: page|admin, input: {path, method, headers?, body?}}"])
        }
        guard let apiURL, let url = URL(string: apiURL.absoluteString + path) else {
            return SandboxHTTP.json(.serviceUnavailable, ["error": "start the sandbox with --api-url"])
        }
        let origin = state.origin(for: request)
        try await installOnce(origin: origin)
        let tokens = try await AtlassianRoutes.invocation(
            accountId: accountId, installationId: state.installationId, ttl: 25, origin: origin, module: module, state)
        var headers = (input["headers"] as? [String: String]) ?? [:]
        headers["Authorization"] = "Bearer \(tokens["fit"] as? String ?? "")"
        headers["x-forge-oauth-system"] = tokens["systemToken"] as? String
        headers["x-forge-oauth-user"] = tokens["userToken"] as? String
        var payload: Data?
        // Forge sends the body through JSON.stringify.
        if let value = input["body"], !(value is NSNull) {
            payload = Data(JSONText.serialize(value, escapeAngleBrackets: false).utf8)
            headers["Content-Type"] = "application/json"
        }
        state.count("jira-invoke")
        let answer: OutboundResponse
        do {
            answer = try await transport.send(
                OutboundRequest(method: method, url: url, headers: headers, body: payload, timeout: .seconds(25)))
        } catch {
            return SandboxHTTP.json(.ok, ["rejected": "The remote could not be reached"])
        }
        return SandboxHTTP.json(.ok, Self.bridgeResult(answer))
    }

    /// The bridge's documented answer: 401 and a non-JSON or empty error body reject; anything else
    /// resolves with `{status, headers, body}` (docs/forge-ui.md).
    static func bridgeResult(_ answer: OutboundResponse) -> [String: Any] {
        if answer.status == 401 { return ["rejected": "Remote could not verify the Forge Invocation Token"] }
        let type = answer.header("content-type")
        let parsed = answer.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: answer.body)
        if !(200..<300).contains(answer.status) {
            guard type.map({ $0.hasPrefix("application/json") }) ?? true, parsed is [String: Any] else {
                return ["rejected": "Invalid response from remote"]
            }
        }
        var result: [String: Any] = [
            "status": answer.status,
            "headers": answer.headers.reduce(into: [String: [String]]()) { $0[$1.key.lowercased()] = [$1.value] },
        ]
        if let parsed { result["body"] = parsed }
        return result
    }

    /// Forge installs an app before anyone opens its page; the lifecycle event brings the system
    /// token the API keeps for scheduled runs. The stand-in sends it before its first invocation.
    private func installOnce(origin: String) async throws {
        guard let apiURL, !installed.withLock({ $0 }) else { return }
        let tokens = try await AtlassianRoutes.invocation(
            accountId: nil, installationId: state.installationId, ttl: 25, origin: origin, state)
        let event = try await transport.send(
            OutboundRequest(
                method: "POST", url: apiURL.appendingPathComponent("forge/lifecycle"),
                headers: [
                    "Authorization": "Bearer \(tokens["fit"] as? String ?? "")",
                    "x-forge-oauth-system": tokens["systemToken"] as? String ?? "",
                    "Content-Type": "application/json",
                ],
                body: Data(#"{"eventType":"avi:forge:installed:app"}"#.utf8)))
        if (200..<300).contains(event.status) { installed.withLock { $0 = true } }
    }
}
