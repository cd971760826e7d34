import Crypto
package import Foundation
import HTTPTypes
package import Hummingbird
package import HummingbirdTesting
package import JWTKit
package import Logging
import Microsoft
package import PostgresBackend
package import Reports
package import ReportsAPI
package import SQLiteBackend
package import Security
import SecurityTesting
import Synchronization
package import TestSupport
package import Transport
package import Upstream

/// Mints Forge Invocation Tokens with the fixtures' test key (the JWKS server publishes its public half).
package struct FITMinter: Sendable {
    package let keys: JWTKeyCollection
    package let kid: String

    package static func make() async throws -> FITMinter {
        let fits = Fixtures.fits
        let kid = fits.jwks.keys[0]["kid"]!
        let keys = JWTKeyCollection()
        await keys.add(
            rsa: try Insecure.RSA.PrivateKey(pem: fits.privateKeyPEM), digestAlgorithm: .sha256,
            kid: JWKIdentifier(string: kid))
        return FITMinter(keys: keys, kid: kid)
    }

    package struct Claims: JWTPayload {
        package struct App: Codable {
            package struct Environment: Codable {
                package let type: String
                package let id: String
            }
            package struct Module: Codable {
                package let type: String
                package let key: String
            }
            package let id: String
            package let installationId: String
            package let apiBaseUrl: String
            package let environment: Environment
            package let module: Module
            /// A paid app's licence in production (docs/atlassian-apis.md §10); absent when nil.
            package var license: License? = nil
        }
        package struct License: Codable { package let isActive: Bool }
        package struct Context: Codable {
            package let cloudId: String
            /// The UI module a call comes from (absent for a call the tests make as the app's page).
            package var moduleKey: String? = nil
        }
        package let iss: String
        package let aud: String
        package let iat: Int
        package let nbf: Int
        package let exp: Int
        package let jti: String
        package let app: App
        package let context: Context
        package let principal: String?
        package func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// A FIT for `account` (nil: a trigger) in `installation`, issued `now`, whose product API is `apiBaseUrl`.
    package func token(
        installation: String, account: String?, apiBaseUrl: String, now: Date, audience: String? = nil,
        license: Bool? = nil, module: String? = nil
    ) async throws -> String {
        let appId = Fixtures.fits.appId
        let issued = Int(now.timeIntervalSince1970)
        let claims = Claims(
            iss: "forge/invocation-token", aud: audience ?? appId, iat: issued, nbf: issued, exp: issued + 25,
            jti: UUID().uuidString,
            app: .init(
                id: appId, installationId: installation, apiBaseUrl: apiBaseUrl,
                environment: .init(type: "DEVELOPMENT", id: "ari:cloud:ecosystem::environment/x/y"),
                module: module.map { .init(type: "jira:adminPage", key: $0) }
                    ?? .init(type: account == nil ? "core:trigger" : "core:endpoint", key: "reports"),
                license: license.map { .init(isActive: $0) }),
            context: .init(cloudId: "cloud-1", moduleKey: module), principal: account)
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }
}

/// Microsoft's token endpoint and Graph, and Jira's filter search, as small stand-ins on loopback
/// (the full sandbox is `Sources/Sandbox`). They check what the real services check that matters here.
package final class UpstreamStandIn: Sendable {
    private let state = Mutex<(tokenRequests: [[String: String]], refreshGeneration: Int, revoked: Bool)>(
        ([], 0, false))

    private let fieldListReads = Mutex(0)
    private let jqlParses = Mutex(0)
    /// How many times Jira was asked to parse a query.
    package var parseRequests: Int { jqlParses.withLock { $0 } }

    package var tokenRequests: [[String: String]] { state.withLock { $0.tokenRequests } }
    /// How many times Jira's field list was read.
    package var fieldRequests: Int { fieldListReads.withLock { $0 } }
    /// The user revoked the app: refreshes fail with invalid_grant and Graph refuses the tokens it issued.
    package func revoke() { state.withLock { $0.revoked = true } }
    private var revoked: Bool { state.withLock { $0.revoked } }

    private func record(_ form: [String: String]) -> (generation: Int, revoked: Bool) {
        state.withLock { state in
            state.tokenRequests.append(form)
            state.refreshGeneration += 1
            return (state.refreshGeneration, state.revoked)
        }
    }

    package func run<T: Sendable>(_ body: @Sendable (_ base: URL) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/common/oauth2/v2.0/token") { [self] request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 65536))
            var form: [String: String] = [:]
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                if parts.count == 2 { form[parts[0]] = parts[1] }
            }
            let (generation, revoked) = self.record(form)
            let ok =
                form["client_secret"] == "test-client-secret"
                && form["client_id"] == "00000000-0000-0000-0000-00000000c11e"
                && (form["grant_type"] == "authorization_code"
                    ? form["code"] == "good-code" && (form["code_verifier"]?.count ?? 0) >= 43
                    : form["grant_type"] == "refresh_token" && !revoked
                        && (form["refresh_token"]?.hasPrefix("refresh-") ?? false))
            guard ok else {
                return Self.json(
                    .badRequest,
                    #"{"error":"invalid_grant","error_description":"AADSTS70000: The provided grant is invalid.","error_codes":[70000]}"#
                )
            }
            return Self.json(
                .ok,
                #"{"token_type":"Bearer","expires_in":3600,"access_token":"access-\#(generation)","refresh_token":"refresh-\#(generation)"}"#
            )
        }
        router.get("/v1.0/me") { [self] request, _ -> Response in
            guard request.headers[.authorization]?.hasPrefix("Bearer access-") == true, !revoked else {
                return Self.json(.unauthorized, #"{"error":{"code":"InvalidAuthenticationToken"}}"#)
            }
            return Self.json(
                .ok, #"{"id":"ms-user-1","displayName":"Ada Lovelace","userPrincipalName":"ada@example.com"}"#)
        }
        router.get("/v1.0/me/onenote/sections") { [self] request, _ -> Response in
            guard request.headers[.authorization]?.hasPrefix("Bearer access-") == true, !revoked else {
                return Self.json(.unauthorized, #"{"error":{"code":"InvalidAuthenticationToken"}}"#)
            }
            return Self.json(
                .ok,
                #"{"value":[{"id":"1-abc!1","displayName":"Reports","parentNotebook":{"id":"nb-1","displayName":"Team"}}]}"#
            )
        }
        router.get("/ex/jira/{cloud}/rest/api/3/filter/search") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer user-token-1" else {
                return Self.json(.unauthorized, #"{"errorMessages":["no"]}"#)
            }
            if let id = request.uri.queryParameters.get("id"), id != "10000" {
                return Self.json(.ok, #"{"values":[]}"#)
            }
            guard request.uri.queryParameters.get("expand") == "jql" else {
                return Self.json(.ok, #"{"values":[{"id":"10000","name":"Mine"}]}"#)
            }
            return Self.json(
                .ok,
                #"{"isLast":true,"values":[{"id":"10000","name":"Mine","jql":"assignee = currentUser() ORDER BY key"}]}"#
            )
        }
        // JQL parsed as the user (docs/atlassian-apis.md §9): a query naming the project NOPE is refused,
        // as Jira refuses a value the user cannot see; anything else is valid.
        router.post("/ex/jira/{cloud}/rest/api/3/jql/parse") { [self] request, _ -> Response in
            jqlParses.withLock { $0 += 1 }
            guard request.headers[.authorization] == "Bearer user-token-1" else {
                return Self.json(.unauthorized, #"{"errorMessages":["no"]}"#)
            }
            let body = try await request.body.collect(upTo: 65_536)
            guard request.uri.queryParameters.get("validation") == "strict",
                let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                let queries = object["queries"] as? [String]
            else { return Self.json(.badRequest, #"{"errorMessages":["bad request"]}"#) }
            let answers: [[String: Any]] = queries.map { query in
                query.contains("NOPE")
                    ? ["query": query, "errors": ["The value 'NOPE' does not exist for the field 'project'."]]
                    : ["query": query, "structure": [String: Any]()]
            }
            let data = try JSONSerialization.data(withJSONObject: ["queries": answers])
            return Self.json(.ok, String(decoding: data, as: UTF8.self))
        }
        // The site's fields (docs/jira-fields.md): two system fields and two custom ones.
        router.get("/ex/jira/{cloud}/rest/api/3/field") { [self] request, _ -> Response in
            fieldListReads.withLock { $0 += 1 }
            guard request.headers[.authorization] == "Bearer user-token-1" else {
                return Self.json(.unauthorized, #"{"errorMessages":["no"]}"#)
            }
            return Self.json(
                .ok,
                #"[{"id":"summary","name":"Summary","custom":false,"schema":{"type":"string","system":"summary"}},"#
                    + #"{"id":"duedate","name":"Due date","custom":false,"schema":{"type":"date","system":"duedate"}},"#
                    + #"{"id":"customfield_10020","name":"Sprint","custom":true,"schema":{"type":"array","items":"json","custom":"com.pyxis.greenhopper.jira:gh-sprint","customId":10020}},"#
                    + #"{"id":"customfield_10016","name":"Story points","custom":true,"schema":{"type":"number","custom":"com.atlassian.jira.plugin.system.customfieldtypes:float","customId":10016}},"#
                    + #"{"id":"customfield_1","name":"Odd","schema":"not an object"},{"name":"no id"}]"#)
        }
        // Who the user is and what the site is called (atlassian-apis.md §8), for the connect confirmation.
        router.get("/ex/jira/{cloud}/rest/api/3/myself") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer user-token-1" else {
                return Self.json(.unauthorized, #"{"errorMessages":["no"]}"#)
            }
            return Self.json(.ok, #"{"accountId":"557058:alice","displayName":"Alice Example","active":true}"#)
        }
        // The global permission the admin routes ask for (atlassian-apis.md §11): the holder of
        // `user-token-admin` administers the site, `user-token-1` (Alice) does not.
        router.get("/ex/jira/{cloud}/rest/api/3/mypermissions") { request, _ -> Response in
            let admin: Bool
            switch request.headers[.authorization] {
            case "Bearer user-token-admin": admin = true
            case "Bearer user-token-1": admin = false
            default: return Self.json(.unauthorized, #"{"errorMessages":["no"]}"#)
            }
            guard request.uri.queryParameters.get("permissions") == "ADMINISTER" else {
                return Self.json(.badRequest, #"{"errorMessages":["permissions"]}"#)
            }
            return Self.json(
                .ok,
                #"{"permissions":{"ADMINISTER":{"id":"0","key":"ADMINISTER","type":"GLOBAL","havePermission":\#(admin)}}}"#
            )
        }
        router.get("/ex/jira/{cloud}/rest/api/3/user/bulk") { request, _ -> Response in
            let known = ["557058:alice": "Alice Example", "557058:bob": "Bob Example"]
            let values = request.uri.queryParameters.getAll("accountId").compactMap { id in
                known[String(id)].map { #"{"accountId":"\#(id)","displayName":"\#($0)"}"# }
            }
            return Self.json(.ok, #"{"isLast":true,"values":[\#(values.joined(separator: ","))]}"#)
        }
        router.get("/ex/jira/{cloud}/rest/api/3/serverInfo") { _, _ -> Response in
            Self.json(
                .ok, #"{"baseUrl":"https://acme.atlassian.net","serverTitle":"Acme Jira","deploymentType":"Cloud"}"#)
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        return try await app.test(.live) { client in try await body(URL(string: "http://127.0.0.1:\(client.port!)")!) }
    }

    package static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The API over a fresh database, with a JWKS server and the upstream stand-ins running.
package struct APIHarness: Sendable {
    package let fixture: ReportFixture
    package let services: APIServices
    /// The SQLite stores behind `services`, for checks the API does not expose.
    package let sqlite: SQLiteServiceStores
    package let minter: FITMinter
    package let upstream: UpstreamStandIn
    package let upstreamBase: URL
    package let clock: TestClock

    package static func run(
        limits: TenantLimits = TenantLimits(), license: LicensePolicy = .init(),
        _ body: @Sendable (APIHarness) async throws -> Void
    ) async throws {
        let fixture = try ReportFixture()
        defer { fixture.remove() }
        let minter = try await FITMinter.make()
        let upstream = UpstreamStandIn()
        let jwks = JWKSServer(body: Fixtures.fits.jwksJSON)
        try await jwks.run { jwksURL in
            try await upstream.run { base in
                let clock = fixture.clock
                let security = SecurityConfiguration(
                    tokenKeys: fixture.vault.keys, stateKey: SymmetricKey(size: .bits256))
                let upstreamConfiguration = UpstreamConfiguration(
                    microsoftClientId: "00000000-0000-0000-0000-00000000c11e",
                    microsoftClientSecret: Secret("test-client-secret"),
                    microsoftRedirectURI: URL(string: "https://reports.example.com/oauth/microsoft/callback")!,
                    microsoftLoginBaseURL: base, microsoftGraphBaseURL: base,
                    atlassianGraphQLURL: base.appendingPathComponent("graphql"), policy: .sandbox)
                let (wired, sqlite) = APIServices.overSQLite(
                    database: fixture.database,
                    forge: ForgeConfiguration(appId: Fixtures.fits.appId, jwksURL: jwksURL, urlPolicy: .sandbox),
                    security: security, upstream: upstreamConfiguration,
                    transport: CurlTransport(policy: .sandbox), limits: limits, now: { clock.now })
                var services = wired
                services.license = license
                try await body(
                    APIHarness(
                        fixture: fixture, services: services, sqlite: sqlite, minter: minter, upstream: upstream,
                        upstreamBase: base, clock: clock))
            }
        }
    }

    package var apiBaseUrl: String { upstreamBase.appendingPathComponent("ex/jira/cloud-1").absoluteString }

    package func headers(
        _ account: String? = "557058:alice", installation: String = ReportFixture.installationA,
        extra: HTTPFields = [:],
        license: Bool? = nil, module: String? = nil
    ) async throws -> HTTPFields {
        let token = try await minter.token(
            installation: installation, account: account, apiBaseUrl: apiBaseUrl, now: clock.now, license: license,
            module: module)
        var fields: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        fields.append(contentsOf: extra)
        return fields
    }

    /// What the report editor sends: a user's FIT with the user token Forge forwards (a saved report's
    /// query is checked with Jira as that user).
    package func editorHeaders(_ account: String = "557058:alice", license: Bool? = nil) async throws -> HTTPFields {
        try await headers(account, extra: [HTTPField.Name("x-forge-oauth-user")!: "user-token-1"], license: license)
    }

    /// A call from the admin page (`module`, the configured key unless given) with `userToken`
    /// forwarded: `user-token-admin` administers the site in the stand-in, `user-token-1` does not.
    package func adminHeaders(
        _ account: String = "557058:admin", userToken: String? = "user-token-admin",
        installation: String = ReportFixture.installationA, module: String = ForgeConfiguration.defaultAdminModuleKey
    ) async throws -> HTTPFields {
        var extra: HTTPFields = [:]
        if let userToken { extra[HTTPField.Name("x-forge-oauth-user")!] = userToken }
        return try await headers(account, installation: installation, extra: extra, module: module)
    }

    package func test(logger: Logger = silentLogger, _ body: @Sendable (any TestClientProtocol) async throws -> Void)
        async throws
    {
        let app = Application(router: APIRoutes.router(services), logger: logger)
        try await app.test(.router) { client in try await body(client) }
    }
}

extension APIServices {
    /// The API over the PostgreSQL stores of `database`, as `enqueuer serve` wires it.
    package static func overPostgres(
        database: PostgresReportsDatabase, forge: ForgeConfiguration, security: SecurityConfiguration,
        upstream: UpstreamConfiguration, transport: any HTTPTransport, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) -> (APIServices, PostgresServiceStores) {
        let stores = PostgresServiceStores(
            database: database, vault: TokenVault(keys: security.tokenKeys), limits: limits, now: now)
        let services = wired(
            stores.stores, tokenStorage: PostgresMicrosoftTokenStorage(database: database),
            budgetStorage: PostgresOneNoteBudgetStorage(database: database), forge: forge, security: security,
            upstream: upstream, transport: transport, now: now)
        return (services, stores)
    }

    /// The API over the SQLite stores of `database`, as `enqueuer serve` wires it.
    package static func overSQLite(
        database: ReportsDatabase, forge: ForgeConfiguration, security: SecurityConfiguration,
        upstream: UpstreamConfiguration, transport: any HTTPTransport, limits: TenantLimits = TenantLimits(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) -> (APIServices, SQLiteServiceStores) {
        let sqlite = SQLiteServiceStores(
            database: database, vault: TokenVault(keys: security.tokenKeys), limits: limits, now: now)
        let services = wired(
            sqlite.stores, tokenStorage: SQLiteMicrosoftTokenStorage(database: database),
            budgetStorage: SQLiteOneNoteBudgetStorage(database: database), forge: forge, security: security,
            upstream: upstream, transport: transport, now: now)
        return (services, sqlite)
    }

    /// What `enqueuer serve` adds to a backend's stores: the token broker and the OneNote budget over
    /// the backend's storage of them.
    static func wired(
        _ stores: ServiceStores, tokenStorage: any MicrosoftTokenStorage, budgetStorage: any OneNoteBudgetStorage,
        forge: ForgeConfiguration, security: SecurityConfiguration, upstream: UpstreamConfiguration,
        transport: any HTTPTransport, now: @escaping @Sendable () -> Date
    ) -> APIServices {
        let microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
        return APIServices(
            stores: stores,
            tokens: MicrosoftTokenBroker(
                storage: tokenStorage, vault: TokenVault(keys: security.tokenKeys), microsoft: microsoft, now: now),
            onenoteBudget: OneNoteRateLimiter(
                storage: budgetStorage, maxWait: .seconds(5),
                holder: "\(APIServices.processId):\(UUID().uuidString.lowercased())", now: now),
            forge: forge, security: security, upstream: upstream, microsoft: microsoft,
            transport: transport, logger: silentLogger, now: now)
    }
}
