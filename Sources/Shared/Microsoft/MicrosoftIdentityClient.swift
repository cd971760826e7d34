public import Foundation
public import Security
public import Transport
public import Upstream

/// The Microsoft identity platform v2 on `/common`: the authorize URL, the code exchange and the
/// refresh (docs/microsoft-apis.md §1). Scopes are exactly `Notes.ReadWrite User.Read offline_access`.
public struct MicrosoftIdentityClient: Sendable {
    public static let scopes = "Notes.ReadWrite User.Read offline_access"

    public struct Tokens: Sendable {
        public let accessToken: Secret
        /// Rotates on every use: store the new one at once.
        public let refreshToken: Secret
        public let expiresIn: Int
    }

    public let configuration: UpstreamConfiguration
    public let transport: any HTTPTransport

    public init(configuration: UpstreamConfiguration, transport: any HTTPTransport) {
        self.configuration = configuration
        self.transport = transport
    }

    public func authorizeURL(state: String, codeChallenge: String) -> URL {
        var components = URLComponents(
            url: configuration.microsoftLoginBaseURL.appendingPathComponent("common/oauth2/v2.0/authorize"),
            resolvingAgainstBaseURL: false)!
        components.queryItems = [
            URLQueryItem(name: "client_id", value: configuration.microsoftClientId),
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "redirect_uri", value: configuration.microsoftRedirectURI.absoluteString),
            URLQueryItem(name: "response_mode", value: "query"),
            URLQueryItem(name: "scope", value: Self.scopes),
            URLQueryItem(name: "state", value: state),
            URLQueryItem(name: "code_challenge", value: codeChallenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
            URLQueryItem(name: "prompt", value: "select_account"),
        ]
        // URLComponents leaves '+' alone in queries; a space must travel as %20.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.url!
    }

    public func exchange(code: Secret, verifier: Secret) async throws -> Tokens {
        try await token([
            ("client_id", configuration.microsoftClientId), ("grant_type", "authorization_code"),
            ("code", code.revealed),
            ("redirect_uri", configuration.microsoftRedirectURI.absoluteString), ("code_verifier", verifier.revealed),
            ("client_secret", configuration.microsoftClientSecret.revealed), ("scope", Self.scopes),
        ])
    }

    public func refresh(_ refreshToken: Secret) async throws -> Tokens {
        try await token([
            ("client_id", configuration.microsoftClientId), ("grant_type", "refresh_token"),
            ("refresh_token", refreshToken.revealed),
            ("client_secret", configuration.microsoftClientSecret.revealed), ("scope", Self.scopes),
        ])
    }

    private func token(_ form: [(String, String)]) async throws -> Tokens {
        let url = configuration.microsoftLoginBaseURL.appendingPathComponent("common/oauth2/v2.0/token")
        let request = OutboundRequest(
            method: "POST", url: url,
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
            body: Data(FormEncoding.encode(form).utf8), timeout: .seconds(15))
        let span = UpstreamSpan("microsoft", request, attempt: 1)
        let response: OutboundResponse
        do {
            response = try await span.send(request, over: transport)
        } catch let error as HTTPTransportError {
            throw UpstreamError(kind: .transient, code: "microsoft_unreachable", message: error.message)
        }
        span.end()
        if response.status == 200 {
            struct Body: Decodable {
                let accessToken: Secret
                let refreshToken: Secret?
                let expiresIn: Int?

                enum CodingKeys: String, CodingKey {
                    case accessToken = "access_token"
                    case refreshToken = "refresh_token"
                    case expiresIn = "expires_in"
                }
            }
            guard let body = try? JSONDecoder().decode(Body.self, from: response.body), let refresh = body.refreshToken
            else {
                throw UpstreamError(
                    kind: .transient, code: "microsoft_bad_response",
                    message: "the token response had no refresh token", status: 200)
            }
            return Tokens(accessToken: body.accessToken, refreshToken: refresh, expiresIn: body.expiresIn ?? 3600)
        }
        throw Self.classify(status: response.status, body: response.body, retryAfter: response.retryAfter())
    }

    /// docs/microsoft-apis.md §1.10: reconnect required, app misconfigured, or transient. `error` decides;
    /// `error_codes` refine; `error_description` is never used to decide (nor logged: it can be long).
    static func classify(status: Int, body: Data, retryAfter: Duration?) -> UpstreamError {
        struct Body: Decodable {
            let error: String?
            let suberror: String?
            let errorCodes: [Int]?

            enum CodingKeys: String, CodingKey {
                case error, suberror
                case errorCodes = "error_codes"
            }
        }
        let parsed = try? JSONDecoder().decode(Body.self, from: body)
        let error = parsed?.error ?? ""
        let codes = Set(parsed?.errorCodes ?? [])
        let wait = retryAfter
        let word = error.isEmpty ? "HTTP \(status)" : error
        let reconnectErrors: Set<String> = [
            "invalid_grant", "interaction_required", "consent_required", "login_required",
        ]
        let reconnectSuberrors: Set<String> = [
            "bad_token", "consent_required", "basic_action", "additional_action", "message_only",
            "user_password_expired",
        ]
        let reconnectCodes: Set<Int> = [
            70000, 70008, 700082, 50173, 70043, 50089, 65001, 65004, 50076, 50079, 50078, 53003, 50057, 50055,
        ]
        let appErrors: Set<String> = [
            "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_request", "invalid_scope",
        ]
        let appCodes: Set<Int> = [7_000_215, 7_000_222, 700016, 7_000_112, 70001, 50011, 50194]
        let transientCodes: Set<Int> = [50033, 50087, 70012, 90006, 90012, 90024, 90033, 90090, 90055, 50196]
        if status == 429 || status >= 500 || ["temporarily_unavailable", "server_error"].contains(error)
            || !codes.isDisjoint(with: transientCodes)
        {
            return UpstreamError(
                kind: .transient, code: "microsoft_unavailable", message: "Microsoft sign-in is unavailable (\(word))",
                status: status, retryAfter: wait)
        }
        if appErrors.contains(error) || !codes.isDisjoint(with: appCodes) {
            return UpstreamError(
                kind: .appMisconfigured, code: "microsoft_app_misconfigured",
                message: "the service's Microsoft app registration was refused (\(word))", status: status)
        }
        if reconnectErrors.contains(error) || reconnectSuberrors.contains(parsed?.suberror ?? "")
            || !codes.isDisjoint(with: reconnectCodes)
        {
            return UpstreamError(
                kind: .reconnectRequired, code: "reconnect_required",
                message: "the Microsoft connection must be renewed: connect again (\(word))", status: status)
        }
        return UpstreamError(
            kind: .transient, code: "microsoft_error", message: "Microsoft sign-in failed (\(word))", status: status,
            retryAfter: wait)
    }
}
