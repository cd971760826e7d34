import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Reports
import TestSupport
import Testing

@testable import Microsoft
@testable import ReportsSupport
@testable import SQLiteBackend
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// Contract tests of the sandbox over real HTTP (HummingbirdTesting `.live`): raw requests only — the
/// product's clients are not used, so a bug in a client cannot hide behind the same bug here.
@Suite("Sandbox contract (phase 1: Forge, Jira, Microsoft identity and Graph reads)")
struct SandboxContractTests {
    static func withSandbox(_ body: @Sendable (SandboxState, any TestClientProtocol) async throws -> Void) async throws
    {
        let state = try await SandboxState(
            seed: 7, issues: 60, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
        let app = Application(
            router: SandboxApp.router(state), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: silentLogger)
        try await app.test(.live) { client in try await body(state, client) }
    }

    static func mint(_ client: any TestClientProtocol, _ account: String = "sandbox-user-1") async throws -> [String:
        Any]
    {
        let response = try await client.execute(
            uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"\#(account)"}"#))
        #expect(response.status == .ok)
        return response.json
    }

    /// The product's FIT verifier on the sandbox's JWKS over HTTP. Refetch allowed at once: the 30 s
    /// limit has its own tests; here rotation and the claims are what is checked.
    static func verifier(_ state: SandboxState, _ client: any TestClientProtocol) -> FITVerifier {
        let jwks = URL(string: "http://127.0.0.1:\(client.port!)/.well-known/jwks.json")!
        return FITVerifier(
            configuration: ForgeConfiguration(appId: state.appId, jwksURL: jwks, urlPolicy: .sandbox),
            keys: JWKSCache(
                url: jwks, transport: CurlTransport(policy: .sandbox), refetchInterval: .zero, logger: silentLogger))
    }

    static func bearer(_ token: Any?) -> HTTPFields { [.authorization: "Bearer \(token as? String ?? "")"] }

    @Test func aMintedFITCarriesTheDocumentedClaimsAndPassesTheProductsVerifier() async throws {
        try await Self.withSandbox { state, client in
            let minted = try await Self.mint(client)
            for key in ["fit", "systemToken", "userToken", "appId", "installationId", "cloudId", "apiBaseUrl"] {
                #expect(minted[key] is String, "\(key)")
            }
            let fit = try #require(minted["fit"] as? String)
            let payload = try #require(
                Base64URL.decode(fit.split(separator: ".")[1]).flatMap {
                    try JSONSerialization.jsonObject(with: $0) as? [String: Any]
                })
            let app = try #require(payload["app"] as? [String: Any])
            for key in ["id", "installationId", "apiBaseUrl", "appVersion", "environment", "module", "installation"] {
                #expect(app[key] != nil, "app.\(key)")
            }
            #expect(payload["iss"] as? String == "forge/invocation-token" && payload["aud"] as? String == state.appId)
            #expect(
                payload["principal"] as? String == "sandbox-user-1" && payload["context"] is [String: Any]
                    && payload["jti"] is String)
            let iat = try #require(payload["iat"] as? Int)
            #expect(payload["nbf"] as? Int == iat && payload["exp"] as? Int == iat + 25)
            for token in ["systemToken", "userToken"] {
                #expect(
                    SystemTokens.expiry(of: Secret(minted[token] as! String)) != nil, "\(token) is a JWT with exp")
            }

            // The product's verifier, configured with the sandbox's JWKS over HTTP, accepts it.
            let verifier = Self.verifier(state, client)
            let identity = try await verifier.verify(token: Secret(fit))
            #expect(identity.principalAccountId == "sandbox-user-1" && identity.cloudId == state.cloudId)

            // After a rotation the new key signs, the old one stays published, and the verifier follows.
            let rotated = try await client.execute(uri: "/sandbox/rotate-keys", method: .post)
            let newKid = try #require(rotated.json["kid"] as? String)
            let keys =
                try await client.execute(uri: "/.well-known/jwks.json", method: .get).json["keys"] as? [[String: Any]]
            #expect(keys?.count == 2 && keys?.last?["kid"] as? String == newKid)
            let next = try #require(try await Self.mint(client)["fit"] as? String)
            let header = try #require(
                Base64URL.decode(next.split(separator: ".")[0]).flatMap {
                    try JSONSerialization.jsonObject(with: $0) as? [String: Any]
                })
            #expect(header["kid"] as? String == newKid && header["alg"] as? String == "RS256")
            _ = try await verifier.verify(token: Secret(next))
            #expect(try await verifier.verify(token: Secret(next)).licenseActive == nil, "development: no claim")

            // Both licence states (docs/atlassian-apis.md §10), per token or for every token after.
            for (state, expected) in [("active", true), ("inactive", false)] {
                let claimed = try await client.execute(
                    uri: "/sandbox/fit", method: .post,
                    body: ByteBuffer(string: #"{"accountId":"sandbox-user-1","license":"\#(state)"}"#))
                let token = try #require(claimed.json["fit"] as? String)
                #expect(try await verifier.verify(token: Secret(token)).licenseActive == expected, "\(state)")
            }
            _ = try await client.execute(
                uri: "/sandbox/license", method: .post, body: ByteBuffer(string: #"{"state":"inactive"}"#))
            let trigger = try await client.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"trigger":true}"#))
            let triggerToken = try #require(trigger.json["fit"] as? String)
            #expect(
                try await verifier.verify(token: Secret(triggerToken)).licenseActive == false, "a trigger says it too")
        }
    }

    /// The admin page's facts (docs/atlassian-apis.md §11): a call names its UI module, Jira says who
    /// holds "Administer Jira" (and it can be revoked), and users are read a page of ten at a time.
    @Test func theAdminPagesModuleAndJirasAdministratorsAreAsDocumented() async throws {
        try await Self.withSandbox { state, client in
            let verifier = Self.verifier(state, client)
            for (module, key) in [("admin", "onenote-reports-admin"), ("page", "onenote-reports-page")] {
                let minted = try await client.execute(
                    uri: "/sandbox/fit", method: .post,
                    body: ByteBuffer(string: #"{"accountId":"sandbox-admin","module":"\#(module)"}"#))
                let identity = try await verifier.verify(token: Secret(try #require(minted.json["fit"] as? String)))
                #expect(identity.invokingModuleKey == key)
            }
            let jira = "/ex/jira/\(state.cloudId)/rest/api/3"
            func administers(_ account: String) async throws -> Bool? {
                let token = try await Self.mint(client, account)["userToken"]
                let answer = try await client.execute(
                    uri: "\(jira)/mypermissions?permissions=ADMINISTER", method: .get, headers: Self.bearer(token))
                return ((answer.json["permissions"] as? [String: Any])?["ADMINISTER"] as? [String: Any])?[
                    "havePermission"]
                    as? Bool
            }
            #expect(try await administers("sandbox-admin") == true)
            #expect(try await administers("sandbox-user-1") == false)
            let token = try await Self.mint(client, "sandbox-admin")["userToken"]
            let unasked = try await client.execute(
                uri: "\(jira)/mypermissions", method: .get, headers: Self.bearer(token))
            #expect(unasked.status == .badRequest, "the permissions parameter is required")
            _ = try await client.execute(
                uri: "/sandbox/site-admins", method: .post,
                body: ByteBuffer(string: #"{"accountId":"sandbox-admin","admin":false}"#))
            #expect(try await administers("sandbox-admin") == false, "revoked")

            let ids = (0..<12).map { "accountId=sandbox-user-\($0 + 1)" }.joined(separator: "&")
            let page = try await client.execute(
                uri: "\(jira)/user/bulk?\(ids)&maxResults=200", method: .get, headers: Self.bearer(token))
            let values = try #require(page.json["values"] as? [[String: Any]])
            #expect(
                values.map { $0["accountId"] as? String } == ["sandbox-user-1", "sandbox-user-2"],
                "unknown ids left out")
            #expect(page.json["isLast"] as? Bool == true)
        }
    }

    @Test func offlineUserTokensFollowTheDocumentedMutation() async throws {
        try await Self.withSandbox { state, client in
            let minted = try await Self.mint(client)
            let mutation =
                "mutation forge_remote_offlineUserAuthToken($input: OfflineUserAuthTokenInput!) { offlineUserAuthToken(input: $input) { success errors { message } authToken { token ttl } } }"
            func ask(_ headers: HTTPFields, context: String, user: String) async throws -> TestResponse {
                let body = JSONText.serialize([
                    "query": mutation, "variables": ["input": ["contextIds": [context], "userId": user]],
                ])
                return try await client.execute(
                    uri: "/graphql", method: .post, headers: headers.merging([.contentType: "application/json"]),
                    body: ByteBuffer(string: body))
            }
            let workspace = "ari:cloud:jira:\(state.cloudId):workspace/\(state.cloudId)"
            #expect(try await ask([:], context: workspace, user: "sandbox-user-2").status == .unauthorized)
            #expect(
                try await ask(Self.bearer(minted["userToken"]), context: workspace, user: "sandbox-user-2").status
                    == .unauthorized, "the system token is required")

            let ok = try await ask(Self.bearer(minted["systemToken"]), context: workspace, user: "sandbox-user-2")
            let result = try #require((ok.json["data"] as? [String: Any])?["offlineUserAuthToken"] as? [String: Any])
            #expect(result["success"] as? Bool == true)
            let authToken = try #require(result["authToken"] as? [String: Any])
            #expect(authToken["ttl"] as? Int == 3600)
            // The offline token acts as that user in Jira.
            let search = try await client.execute(
                uri: "/ex/jira/\(state.cloudId)/rest/api/3/search/jql?jql=project%20%3D%20OPS&fields=key", method: .get,
                headers: Self.bearer(authToken["token"]))
            #expect(search.status == .ok)

            for (context, user) in [
                ("ari:cloud:jira::site/\(state.cloudId)", "sandbox-user-2"), (workspace, "no-such-user"),
            ] {
                let failed = try await ask(Self.bearer(minted["systemToken"]), context: context, user: user)
                let payload = try #require(
                    (failed.json["data"] as? [String: Any])?["offlineUserAuthToken"] as? [String: Any])
                #expect(failed.status == .ok && payload["success"] as? Bool == false && payload["authToken"] is NSNull)
                #expect(
                    ((payload["errors"] as? [[String: Any]])?.first?["message"] as? String)?.hasPrefix(
                        "Could not load permissions for app user in the provided contextIds of [") == true)
                #expect(failed.json["extensions"] is [String: Any])
            }
        }
    }

    @Test func enhancedSearchPagesFieldsVisibilityAndTheRemovedEndpoint() async throws {
        try await Self.withSandbox { state, client in
            let one = Self.bearer(try await Self.mint(client, "sandbox-user-1")["userToken"])
            let two = Self.bearer(try await Self.mint(client, "sandbox-user-2")["userToken"])
            let base = "/ex/jira/\(state.cloudId)/rest/api/3"
            #expect(
                try await client.execute(uri: "\(base)/search/jql?jql=project%20%3D%20OPS", method: .get).status
                    == .unauthorized)

            // fields default to ids only.
            let ids = try await client.execute(
                uri: "\(base)/search/jql?jql=project%20%3D%20OPS%20ORDER%20BY%20key&maxResults=5", method: .get,
                headers: one)
            let first = try #require((ids.json["issues"] as? [[String: Any]])?.first)
            #expect(first["fields"] == nil && first["id"] is String)
            #expect(
                ids.json["total"] == nil && ids.json["isLast"] as? Bool == false && ids.json["nextPageToken"] is String)

            // Page through everything user 1 can see with fields; the last page says isLast and has no token.
            func all(_ headers: HTTPFields, jql: String) async throws -> [[String: Any]] {
                var issues: [[String: Any]] = []
                var token: String?
                repeat {
                    var body: [String: Any] = [
                        "jql": jql, "fields": ["summary", "status", "assignee"], "maxResults": 7,
                    ]
                    if let token { body["nextPageToken"] = token }
                    let page = try await client.execute(
                        uri: "\(base)/search/jql", method: .post,
                        headers: headers.merging([.contentType: "application/json"]),
                        body: ByteBuffer(string: JSONText.serialize(body)))
                    #expect(page.status == .ok)
                    issues += page.json["issues"] as? [[String: Any]] ?? []
                    token = page.json["nextPageToken"] as? String
                    if token == nil { #expect(page.json["isLast"] as? Bool == true) }
                } while token != nil
                return issues
            }
            let seenByOne = try await all(one, jql: "project = OPS ORDER BY key")
            let seenByTwo = try await all(two, jql: "project = OPS ORDER BY key")
            #expect(seenByOne.count == 30 && seenByTwo.count < seenByOne.count, "user 1 sees issues user 2 cannot")
            let fields = seenByOne.compactMap { $0["fields"] as? [String: Any] }
            #expect(fields.contains { ($0["summary"] as? String)?.contains("<script>") == true })
            #expect(fields.contains { ($0["summary"] as? String)?.count == 10_000 })
            #expect(fields.contains { $0["assignee"] is NSNull })
            let categories = Set(
                fields.compactMap {
                    (($0["status"] as? [String: Any])?["statusCategory"] as? [String: Any])?["key"] as? String
                })
            #expect(categories == ["new", "indeterminate", "done", "undefined"])
            let mine = try await all(one, jql: "project = OPS AND assignee = currentUser()")
            #expect(!mine.isEmpty && mine.count < seenByOne.count)

            // Unbounded or broken JQL: 400 with Jira's error body.
            for jql in ["ORDER BY key", "", "priority = High", "project = OPS AND"] {
                let bad = try await client.execute(
                    uri: "\(base)/search/jql?jql=\(FormEncoding.escape(jql))", method: .get, headers: one)
                #expect(
                    bad.status == .badRequest && (bad.json["errorMessages"] as? [String])?.isEmpty == false
                        && bad.json["errors"] is [String: Any], "\(jql)")
            }
            // The old search is gone.
            let removed = try await client.execute(
                uri: "\(base)/search?jql=project%20%3D%20OPS", method: .get, headers: one)
            #expect(removed.status == .gone)
            #expect(
                (removed.json["errorMessages"] as? [String])?.first?.hasPrefix(
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.") == true)
        }
    }

    @Test func savedFiltersShowJQLOnlyWhenExpandedAndOnlyToThoseWhoMaySeeThem() async throws {
        try await Self.withSandbox { state, client in
            let one = Self.bearer(try await Self.mint(client, "sandbox-user-1")["userToken"])
            let two = Self.bearer(try await Self.mint(client, "sandbox-user-2")["userToken"])
            let base = "/ex/jira/\(state.cloudId)/rest/api/3/filter/search"
            let plain = try await client.execute(uri: base, method: .get, headers: one)
            let values = try #require(plain.json["values"] as? [[String: Any]])
            #expect(!values.isEmpty && values.allSatisfy { $0["jql"] == nil })
            #expect(plain.json["isLast"] as? Bool == true && plain.json["startAt"] as? Int == 0)
            let expanded = try await client.execute(uri: "\(base)?expand=jql", method: .get, headers: one)
            #expect((expanded.json["values"] as? [[String: Any]])?.allSatisfy { $0["jql"] is String } == true)
            let names = { (response: TestResponse) in
                Set((response.json["values"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
            }
            let forTwo = names(try await client.execute(uri: base, method: .get, headers: two))
            #expect(names(plain).contains("My open OPS issues") && !forTwo.contains("My open OPS issues"))
            let paged = try await client.execute(uri: "\(base)?maxResults=1&startAt=1", method: .get, headers: one)
            #expect((paged.json["values"] as? [Any])?.count == 1 && paged.json["isLast"] as? Bool == false)
        }
    }

    /// docs/atlassian-apis.md §9: 200 with a structure or Jira's errors per query, as the caller; 400
    /// for a body without queries; 401 without a user token.
    @Test func jqlIsParsedAndValidatedAsTheCallerInJirasShape() async throws {
        try await Self.withSandbox { state, client in
            let one = Self.bearer(try await Self.mint(client, "sandbox-user-1")["userToken"])
            let uri = "/ex/jira/\(state.cloudId)/rest/api/3/jql/parse?validation=strict"
            let queries = ["project = OPS ORDER BY key", "project = OPS AND", "project = NOPE", "ORDER BY key"]
            let body = try JSONSerialization.data(withJSONObject: ["queries": queries])
            var headers = one
            headers[.contentType] = "application/json"
            let parsed = try await client.execute(
                uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(parsed.status == .ok, "\(parsed.text)")
            let answers = try #require(parsed.json["queries"] as? [[String: Any]])
            #expect(answers.map { $0["query"] as? String } == queries)
            #expect(answers[0]["errors"] == nil && answers[0]["structure"] is [String: Any])
            #expect((answers[1]["errors"] as? [String])?.first?.hasPrefix("Error in the JQL Query: ") == true)
            #expect(answers[1]["structure"] == nil)
            #expect(
                answers[2]["errors"] as? [String] == ["The value 'NOPE' does not exist for the field 'project'."])
            #expect(answers[3]["errors"] == nil, "parsing does not ask for a bounded query; the search does")
            let empty = try await client.execute(
                uri: uri, method: .post, headers: headers, body: ByteBuffer(string: #"{"queries":[]}"#))
            #expect(empty.status == .badRequest && empty.json["errorMessages"] is [String])
            let anonymous = try await client.execute(
                uri: uri, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func theMicrosoftCodeFlowChecksPKCEAndRotatesAndRevokesRefreshTokens() async throws {
        try await Self.withSandbox { _, client in
            let verifier = "sandbox-test-verifier-0123456789-abcdefghijklmnop"
            let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
            let redirect = "http://127.0.0.1:8080/oauth/microsoft/callback"
            func authorize(_ clientId: String = "sandbox-client", redirectURI: String = redirect) async throws
                -> TestResponse
            {
                try await client.execute(
                    uri:
                        "/common/oauth2/v2.0/authorize?client_id=\(clientId)&response_type=code&redirect_uri=\(FormEncoding.escape(redirectURI))&scope=Notes.ReadWrite%20User.Read%20offline_access&state=xyz&code_challenge=\(challenge)&code_challenge_method=S256",
                    method: .get)
            }
            func token(_ form: [(String, String)]) async throws -> TestResponse {
                try await client.execute(
                    uri: "/common/oauth2/v2.0/token", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: FormEncoding.encode(form)))
            }
            #expect(try await authorize("other-client").status == .badRequest)
            #expect(try await authorize(redirectURI: "https://evil.example.com/cb").status == .badRequest)
            let redirected = try await authorize()
            #expect(redirected.status == .found)
            let location = try #require(redirected.headers[.location].flatMap { URLComponents(string: $0) })
            #expect(location.path == "/oauth/microsoft/callback")
            let items = Dictionary(uniqueKeysWithValues: (location.queryItems ?? []).map { ($0.name, $0.value ?? "") })
            #expect(items["state"] == "xyz")
            let code = try #require(items["code"])

            let base: [(String, String)] = [
                ("client_id", "sandbox-client"), ("grant_type", "authorization_code"), ("code", code),
                ("redirect_uri", redirect),
            ]
            let wrongSecret = try await token(base + [("client_secret", "nope"), ("code_verifier", verifier)])
            #expect(wrongSecret.status == .unauthorized && wrongSecret.json["error"] as? String == "invalid_client")
            let wrongVerifier = try await token(
                base + [("client_secret", "sandbox-secret"), ("code_verifier", verifier + "x")])
            #expect(wrongVerifier.status == .badRequest && wrongVerifier.json["error"] as? String == "invalid_grant")
            // The code was spent by the failed attempt, as a real code is single-use: get a fresh one.
            let again = try #require(
                try await authorize().headers[.location].flatMap {
                    URLComponents(string: $0)?.queryItems?.first { $0.name == "code" }?.value
                })
            let wrongRedirect = try await token([
                ("client_id", "sandbox-client"), ("grant_type", "authorization_code"), ("code", again),
                ("redirect_uri", "http://127.0.0.1:9/other"), ("client_secret", "sandbox-secret"),
                ("code_verifier", verifier),
            ])
            #expect(wrongRedirect.status == .badRequest && wrongRedirect.json["error"] as? String == "invalid_grant")
            let fresh = try #require(
                try await authorize().headers[.location].flatMap {
                    URLComponents(string: $0)?.queryItems?.first { $0.name == "code" }?.value
                })
            let granted = try await token([
                ("client_id", "sandbox-client"), ("grant_type", "authorization_code"), ("code", fresh),
                ("redirect_uri", redirect),
                ("client_secret", "sandbox-secret"), ("code_verifier", verifier),
            ])
            #expect(granted.status == .ok, "\(granted.text)")
            let expiresIn = try #require(granted.json["expires_in"] as? Int)
            #expect((3600...5400).contains(expiresIn) && granted.json["token_type"] as? String == "Bearer")
            let firstRefresh = try #require(granted.json["refresh_token"] as? String)
            let access = try #require(granted.json["access_token"] as? String)
            let reused = try await token([
                ("client_id", "sandbox-client"), ("grant_type", "authorization_code"), ("code", fresh),
                ("redirect_uri", redirect),
                ("client_secret", "sandbox-secret"), ("code_verifier", verifier),
            ])
            #expect(reused.status == .badRequest, "a code is redeemed once")

            // Graph with the access token.
            #expect(try await client.execute(uri: "/v1.0/me", method: .get).status == .unauthorized)
            #expect(
                try await client.execute(uri: "/v1.0/me", method: .get, headers: Self.bearer(access)).json["id"]
                    as? String == "sandbox-ms-user-1")
            let sections = try await client.execute(
                uri: "/v1.0/me/onenote/sections", method: .get, headers: Self.bearer(access))
            #expect(
                ((sections.json["value"] as? [[String: Any]])?.first?["parentNotebook"] as? [String: Any])?[
                    "displayName"] != nil)
            #expect(
                (try await client.execute(uri: "/v1.0/me/onenote/notebooks", method: .get, headers: Self.bearer(access))
                    .json["value"] as? [Any])?.count == 2)

            // Refresh rotates; the old refresh token stays valid until revoked (docs/microsoft-apis.md §1.6).
            let refresh = { (rt: String) in
                try await token([
                    ("client_id", "sandbox-client"), ("client_secret", "sandbox-secret"),
                    ("grant_type", "refresh_token"), ("refresh_token", rt),
                ])
            }
            let rotated = try await refresh(firstRefresh)
            let secondRefresh = try #require(rotated.json["refresh_token"] as? String)
            #expect(secondRefresh != firstRefresh)
            #expect(try await refresh(firstRefresh).status == .ok)
            _ = try await client.execute(uri: "/sandbox/revoke", method: .post)
            let revoked = try await refresh(secondRefresh)
            #expect(
                revoked.status == .badRequest && revoked.json["error"] as? String == "invalid_grant"
                    && revoked.json["error_codes"] as? [Int] == [70000])
            for key in ["error_description", "timestamp", "trace_id", "correlation_id"] {
                #expect(revoked.json[key] is String, "\(key)")
            }
            #expect(
                MicrosoftIdentityClient.classify(status: 400, body: Data(revoked.text.utf8), retryAfter: nil).kind
                    == .reconnectRequired,
                "the product classifies the sandbox's revoke answer as documented")
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var result = self
        result.append(contentsOf: other)
        return result
    }
}
