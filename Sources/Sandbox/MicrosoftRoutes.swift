import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import ReportsSupport
import Security
import Transport

/// Microsoft identity platform and Graph stand-ins, each behaviour citing docs/microsoft-apis.md.
enum MicrosoftRoutes {
    static func add(to router: Router<BasicRequestContext>, state: SandboxState, throttle: OneNoteThrottle) {
        router.get("/common/oauth2/v2.0/authorize") { request, _ in authorize(request, state) }
        router.post("/common/oauth2/v2.0/token") { request, _ in try await token(request, state) }
        router.post("/sandbox/revoke") { _, _ in
            state.revokeRefreshTokens()
            return SandboxHTTP.json(.ok, ["revoked": true])
        }
        router.get("/v1.0/me") { request, _ in
            state.count("graph-me")
            guard let user = state.accessTokenUser(request.headers[.authorization]) else { return unauthorized() }
            return SandboxHTTP.json(
                .ok, ["id": user.id, "displayName": user.displayName, "userPrincipalName": user.userPrincipalName])
        }
        // Notebooks and sections are OneNote resources: the same per-user limits as pages (§4.2).
        router.get(
            "/v1.0/me/onenote/notebooks",
            use: OneNoteRoutes.throttled(state: state, throttle: throttle) { request, _ in
                state.count("graph-notebooks")
                return SandboxHTTP.json(
                    .ok, ["value": Notebooks.all.map { $0.json(origin: state.origin(for: request)) }])
            })
        router.get(
            "/v1.0/me/onenote/sections",
            use: OneNoteRoutes.throttled(state: state, throttle: throttle) { request, _ in
                state.count("graph-sections")
                // §2.2: every section including nested ones; `parentNotebook` expanded by default.
                let origin = state.origin(for: request)
                return SandboxHTTP.json(
                    .ok,
                    [
                        "value": Notebooks.all.flatMap { notebook in
                            notebook.sections.map { section in
                                [
                                    "id": section.id, "displayName": section.name, "isDefault": false,
                                    "self": "\(origin)/v1.0/me/onenote/sections/\(section.id)",
                                    "pagesUrl": "\(origin)/v1.0/me/onenote/sections/\(section.id)/pages",
                                    "parentNotebook": [
                                        "id": notebook.id, "displayName": notebook.name,
                                        "self": "\(origin)/v1.0/me/onenote/notebooks/\(notebook.id)",
                                    ],
                                ] as [String: Any]
                            }
                        }
                    ])
            })
    }

    /// §4.1-style Graph 401 body.
    static func unauthorized() -> Response {
        SandboxHTTP.json(
            .unauthorized,
            [
                "error": [
                    "code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid.",
                    "innerError": [
                        "request-id": UUID().uuidString,
                        "date": Timestamp.iso8601(milliseconds: Timestamp.milliseconds(Date())),
                    ],
                ]
            ],
            headers: [
                .wwwAuthenticate:
                    #"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize""#
            ])
    }

    /// §1: the user "consents" at once; the redirect carries `code` and `state`. The sandbox's app
    /// accepts any loopback redirect URI (fixed interface).
    static func authorize(_ request: Request, _ state: SandboxState) -> Response {
        state.count("authorize")
        let query = request.uri.queryParameters
        guard query.get("client_id") == state.msClientId else {
            return SandboxHTTP.json(
                .badRequest,
                error("unauthorized_client", 700016, "Application with identifier was not found in the directory."))
        }
        guard let redirect = query.get("redirect_uri"), let url = URL(string: redirect), let host = url.host,
            ["http", "https"].contains(url.scheme ?? ""), OutboundURLPolicy.isLoopback(host)
        else {
            return SandboxHTTP.json(
                .badRequest,
                error(
                    "invalid_request", 50011,
                    "The redirect URI specified in the request does not match the redirect URIs configured for the application."
                ))
        }
        guard query.get("response_type") == "code", let challenge = query.get("code_challenge"),
            query.get("code_challenge_method") == "S256"
        else {
            return SandboxHTTP.json(
                .badRequest,
                error(
                    "invalid_request", 9_002_313,
                    "Invalid request: response_type=code and a code_challenge with method S256 are required."))
        }
        // Who signs in: `login_hint` names the account (a real authorize page pre-fills it); without
        // one, the sandbox's standard user. Each user has OneNote limits of their own.
        let user = MicrosoftUser(loginHint: query.get("login_hint")) ?? state.microsoftUser
        let code = state.issueCode(redirectURI: redirect, challenge: challenge, user: user)
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems =
            (components.queryItems ?? []) + [
                URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: query.get("state") ?? ""),
            ]
        return Response(status: .found, headers: [.location: components.url!.absoluteString])
    }

    /// §1: both grants; rotation on every refresh (old ones stay valid until revoked, §1.6);
    /// errors in the documented JSON shape (§1.7).
    static func token(_ request: Request, _ state: SandboxState) async throws -> Response {
        state.count("token")
        let form = try await SandboxHTTP.form(request)
        guard form["client_id"] == state.msClientId, form["client_secret"] == state.msClientSecret else {
            return SandboxHTTP.json(
                .unauthorized, error("invalid_client", 7_000_215, "Invalid client secret provided."))
        }
        let user: MicrosoftUser
        switch form["grant_type"] {
        case "authorization_code":
            guard let code = form["code"], let entry = state.redeemCode(code) else {
                return SandboxHTTP.json(
                    .badRequest,
                    error("invalid_grant", 70000, "The provided authorization code is invalid or has expired."))
            }
            guard form["redirect_uri"] == entry.redirectURI else {
                return SandboxHTTP.json(
                    .badRequest,
                    error("invalid_grant", 50011, "The reply URL does not match the one used to request the code."))
            }
            let verifier = form["code_verifier"] ?? ""
            guard Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) == entry.challenge else {
                return SandboxHTTP.json(
                    .badRequest,
                    error(
                        "invalid_grant", 501481,
                        "The Code_Verifier does not match the code_challenge supplied in the authorization request."))
            }
            user = entry.user
        case "refresh_token":
            guard let refresh = form["refresh_token"], let owner = state.refreshTokenUser(refresh) else {
                return SandboxHTTP.json(
                    .badRequest,
                    error(
                        "invalid_grant", 70000,
                        "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid."))
            }
            user = owner
        default:
            return SandboxHTTP.json(
                .badRequest, error("unsupported_grant_type", 70003, "The app requested an unsupported grant type."))
        }
        let tokens = state.issueMicrosoftTokens(for: user)
        return SandboxHTTP.json(
            .ok,
            [
                "token_type": "Bearer", "scope": "Notes.ReadWrite User.Read", "expires_in": tokens.expiresIn,
                "access_token": tokens.access, "refresh_token": tokens.refresh,
            ])
    }

    /// §1.7's error body.
    static func error(_ code: String, _ number: Int, _ description: String) -> [String: Any] {
        let trace = UUID().uuidString.lowercased()
        let correlation = UUID().uuidString.lowercased()
        let timestamp =
            Timestamp.iso8601(milliseconds: Timestamp.milliseconds(Date())).replacingOccurrences(of: "T", with: " ")
            .prefix(19) + "Z"
        return [
            "error": code,
            "error_description":
                "AADSTS\(number): \(description)\r\nTrace ID: \(trace)\r\nCorrelation ID: \(correlation)\r\nTimestamp: \(timestamp)",
            "error_codes": [number], "timestamp": String(timestamp), "trace_id": trace, "correlation_id": correlation,
            "error_uri": "https://login.microsoftonline.com/error?code=\(number)",
        ]
    }
}

/// The sandbox user's notebooks and sections (ids in OneNote's `1-<guid>!<n>` shape).
struct Notebooks {
    struct Section {
        let id: String
        let name: String
    }
    let id: String
    let name: String
    let sections: [Section]

    static let all = [
        Notebooks(
            id: "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30", name: "Team Notebook",
            sections: [
                Section(id: "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B", name: "Jira Reports"),
                Section(id: "1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!12-7F3A2C1B", name: "Meeting Notes"),
            ]),
        Notebooks(
            id: "1-5e2d8c4b-1a7f-4c3e-8d9b-6a0f2e4c8b12", name: "Personal",
            sections: [
                Section(id: "1-5e2d8c4b-1a7f-4c3e-8d9b-6a0f2e4c8b12!21-9C8B7A6D", name: "Quick Notes")
            ]),
    ]

    func json(origin: String) -> [String: Any] {
        [
            "id": id, "displayName": name, "isDefault": name == "Personal", "userRole": "Owner", "isShared": false,
            "self": "\(origin)/v1.0/me/onenote/notebooks/\(id)",
            "sectionsUrl": "\(origin)/v1.0/me/onenote/notebooks/\(id)/sections",
        ]
    }
}
