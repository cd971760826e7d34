import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresBackend
import PostgresNIO
import PostgresTesting
import QueueTesting
import ReportsTesting
import ServiceLifecycle
import TestSupport
import Testing

@testable import Atlassian
@testable import Enqueuer
@testable import JobQueue
@testable import Microsoft
@testable import Rendering
@testable import Reports
@testable import ReportsAPI
@testable import ReportsSupport
@testable import SQLiteBackend
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// A sandbox on loopback, a real database (an SQLite file, or a database on the test PostgreSQL
/// cluster), the API services pointed at the sandbox, and a worker runtime with the `run-report` handler.
struct PipelineHarness: Sendable {
    let state: SandboxState
    let sandbox: any TestClientProtocol
    let services: APIServices
    let backend: StorageBackend
    /// The handler's stores over the same database (for checks the API does not expose).
    let runReportStores: any RunReportStores
    /// A Run now store over the same database and queue, sealing with `vault`.
    let makeRuns: @Sendable (TokenVault) -> any RunRequests
    /// The first column of each row of `sql` (the backend's own SQL), as integers.
    let integers: @Sendable (String) async throws -> [Int]

    /// The stores of one backend, wired as `enqueuer serve` and `worker run` wire them.
    struct Wiring {
        let services: APIServices
        let runReportStores: any RunReportStores
        /// What the OneNote destination reads and spends, over the same database.
        let connections: any MicrosoftConnections
        let tokens: MicrosoftTokenBroker
        let budget: any OneNoteBudgetStorage
        let makeRuns: @Sendable (TokenVault) -> any RunRequests
        let integers: @Sendable (String) async throws -> [Int]
    }

    static func run(
        backend: StorageBackend = .sqlite, seed: UInt64, issues: Int, limited: Bool = false, fastWriter: Bool = false,
        maxPartBytes: Int = 3_500_000,
        _ body: @Sendable (PipelineHarness, any TestClientProtocol) async throws -> Void
    ) async throws {
        let state = try await SandboxState(
            seed: seed, issues: issues, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
        let sandboxApp = Application(
            router: SandboxApp.router(state), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: silentLogger)
        try await sandboxApp.test(.live) { sandbox in
            let base = URL(string: "http://127.0.0.1:\(sandbox.port!)")!
            state.setOrigin(base.absoluteString)
            let vault = ReportFixture.makeVault()
            let transport = CurlTransport(policy: .sandbox)
            let upstream = UpstreamConfiguration(
                microsoftClientId: "sandbox-client", microsoftClientSecret: Secret("sandbox-secret"),
                microsoftRedirectURI: URL(string: "http://127.0.0.1:1/oauth/microsoft/callback")!,
                microsoftLoginBaseURL: base, microsoftGraphBaseURL: base,
                atlassianGraphQLURL: base.appendingPathComponent("graphql"), policy: .sandbox)
            let forge = ForgeConfiguration(
                appId: state.appId, jwksURL: base.appendingPathComponent(".well-known/jwks.json"), urlPolicy: .sandbox)
            let security = SecurityConfiguration(tokenKeys: vault.keys, stateKey: SymmetricKey(size: .bits256))
            var writer = OneNoteWriter(graphBaseURL: base, transport: transport)
            if fastWriter {
                writer.throttleBase = .milliseconds(50)
                writer.missingGrace = .milliseconds(50)
                // A page the test deletes right after creating it is taken for gone after 3 s, not 60.
                writer.consistencyWindow = .seconds(3)
            }
            let atlassian = AtlassianClient(graphQLURL: upstream.atlassianGraphQLURL, transport: transport)
            let renderer = OneNotePageRenderer(maxPartBytes: maxPartBytes)
            func run(_ wiring: Wiring) async throws {
                let handler = RunReportHandler(
                    stores: wiring.runReportStores, vault: vault, atlassian: atlassian,
                    destination: OneNoteDestination(
                        connections: wiring.connections, tokens: wiring.tokens, writer: writer, renderer: renderer,
                        limiter: limited ? OneNoteRateLimiter(storage: wiring.budget) : nil))
                let runtime = WorkerRuntime(
                    queue: wiring.services.queue, registry: JobRegistry([handler]),
                    configuration: WorkerConfiguration(workerId: "pipeline"), logger: silentLogger)
                let harness = PipelineHarness(
                    state: state, sandbox: sandbox, services: wiring.services, backend: backend,
                    runReportStores: wiring.runReportStores, makeRuns: wiring.makeRuns, integers: wiring.integers)
                try await withRuntime(runtime) { () async throws in
                    let api = Application(router: APIRoutes.router(wiring.services), logger: silentLogger)
                    try await api.test(.router) { client in try await body(harness, client) }
                }
            }
            switch backend {
            case .sqlite:
                let fixture = try QueueFixture(realClock: true)
                defer { fixture.remove() }
                let database = fixture.database
                let (services, sqlite) = APIServices.overSQLite(
                    database: database, forge: forge, security: security, upstream: upstream, transport: transport)
                try await run(
                    Wiring(
                        services: services,
                        runReportStores: SQLiteRunReportStores(database: database, vault: vault),
                        connections: sqlite.connections, tokens: services.tokens,
                        budget: SQLiteOneNoteBudgetStorage(database: database),
                        makeRuns: { RunStore(database: database, queue: sqlite.queue, vault: $0) },
                        integers: { sql in try await database.pool.read { try Int.fetchAll($0, sql: sql) } }))
            case .postgres:
                try await PostgresTestCluster.shared().withDatabase { database, _ in
                    let (services, stores) = APIServices.overPostgres(
                        database: database, forge: forge, security: security, upstream: upstream,
                        transport: transport)
                    let logger = database.logger
                    try await run(
                        Wiring(
                            services: services,
                            runReportStores: PostgresRunReportStores(database: database, vault: vault),
                            connections: stores.connections, tokens: services.tokens,
                            budget: PostgresOneNoteBudgetStorage(database: database),
                            makeRuns: { PostgresRunStore(database: database, queue: stores.queue, vault: $0) },
                            integers: { sql in
                                try await database.withConnection { connection in
                                    try await connection.checkedQuery(PostgresQuery(unsafeSQL: sql), logger: logger)
                                        .collect().map { try $0.decode(Int.self) }
                                }
                            }))
                }
            }
        }
    }

    /// Fresh FIT headers for `sandbox-user-1`, with the system token Forge sends (and, from the UI, the
    /// user token when `forwardUserToken`).
    func headers(forwardUserToken: Bool = false) async throws -> HTTPFields {
        let minted = try await sandbox.execute(
            uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
        ).json
        var fields: HTTPFields = [
            .authorization: "Bearer \(minted["fit"] as! String)", .contentType: "application/json",
            FITMiddleware.systemTokenHeader: minted["systemToken"] as! String,
        ]
        if forwardUserToken { fields[FITMiddleware.userTokenHeader] = minted["userToken"] as? String }
        return fields
    }

    /// What Forge sends a scheduled trigger: a FIT without a principal, with the system token.
    func triggerHeaders() async throws -> HTTPFields {
        let minted = try await sandbox.execute(
            uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"trigger":true}"#)
        ).json
        return [
            .authorization: "Bearer \(minted["fit"] as! String)", .contentType: "application/json",
            FITMiddleware.systemTokenHeader: minted["systemToken"] as! String,
        ]
    }

    /// The trigger stores the system token; the connect flow goes through the sandbox's consent.
    func installAndConnect(_ client: any TestClientProtocol) async throws {
        #expect(
            try await client.execute(uri: "/forge/trigger", method: .post, headers: try await triggerHeaders()).status
                == .ok)
        let connect = try await client.execute(
            uri: "/v1/microsoft/connect", method: .post, headers: try await headers())
        let browser = ConnectBrowser.router(client)
        let started = try await browser.start(try #require(connect.json["startUrl"] as? String, "\(connect.text)"))
        let authorize = try #require(started.headers["location"])
        let redirect = try await sandbox.execute(uri: ConnectBrowser.pathAndQuery(authorize), method: .get)
        let page = try await browser.callback(try #require(redirect.headers[.location]))
        let connected = try await browser.confirm(page: page.text)
        #expect(connected.status == 200 && connected.text.contains("Connected"), "\(connected.text)")
    }

    func createReport(
        _ client: any TestClientProtocol, name: String = "R", jql: String,
        section: String = Notebooks.all[0].sections[0].id
    ) async throws -> String {
        let body = JSONText.serialize(
            ["name": name, "jql": jql, "columns": ["key", "summary", "status", "assignee"], "sectionId": section],
            escapeAngleBrackets: false)
        let created = try await client.execute(
            uri: "/v1/reports", method: .post, headers: try await headers(forwardUserToken: true),
            body: ByteBuffer(string: body))
        return try #require(created.json["id"] as? String, "\(created.text)")
    }

    /// Run now, then wait for the run to finish; its JSON.
    func run(_ client: any TestClientProtocol, _ reportId: String, forwardUserToken: Bool = false) async throws
        -> [String: Any]
    {
        let started = try await client.execute(
            uri: "/v1/reports/\(reportId)/runs", method: .post,
            headers: try await headers(forwardUserToken: forwardUserToken))
        let runId = try #require(started.json["id"] as? String)
        var last: [String: Any] = [:]
        _ = try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
            last = try await client.execute(uri: "/v1/runs/\(runId)", method: .get, headers: try await headers()).json
            return ["succeeded", "failed"].contains(last["status"] as? String ?? "")
        }
        return last
    }

    func pages() async throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(
            with: Data(try await sandbox.execute(uri: "/sandbox/pages", method: .get).text.utf8)) as? [[String: Any]]
            ?? []
    }
}

/// The whole path in one process, over real loopback HTTP: the API with sandbox FITs, a worker runtime
/// running `run-report` jobs against the sandbox, a real SQLite file. (The multi-process version comes
/// with the demo.)
@Suite("Report pipeline end to end (in process)")
struct PipelineTests {
    @Test(arguments: StorageBackend.allCases)
    func runNowWritesThePageAndARerunUpdatesItInPlace(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 21, issues: 40) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(
                client, name: "OPS <b>board</b>", jql: "project = OPS ORDER BY key")
            let first = try await harness.run(client, reportId)
            #expect(first["status"] as? String == "succeeded", "\(first)")
            #expect(first["issueCount"] as? Int == 20)
            let pages = try await harness.pages()
            #expect(pages.count == 1)
            let html = try #require(pages.first?["html"] as? String)
            let visible = harness.state.seed.issues.filter {
                $0.project == "OPS" && ($0.visibleTo?.contains("sandbox-user-1") ?? true)
            }
            #expect(visible.allSatisfy { html.contains(">\($0.key)</a>") }, "every issue the owner can see")
            #expect(!html.contains("<script>") && html.contains("&lt;script&gt;"), "hostile text escaped")
            #expect(html.contains("https://sandbox.atlassian.net/browse/OPS-1"), "keys link to the site")

            // Change an issue in Jira, then Run now from the UI (with the forwarded user token): the same
            // page shows the change, and no offline token was needed.
            let graphQLBefore =
                try await harness.sandbox.execute(uri: "/sandbox/counters", method: .get).json["graphql"] as? Int ?? 0
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/issues/OPS-1", method: .post,
                body: ByteBuffer(string: #"{"summary":"Changed between runs","status":"Done"}"#))
            let second = try await harness.run(client, reportId, forwardUserToken: true)
            #expect(second["status"] as? String == "succeeded")
            let after = try await harness.pages()
            #expect(
                after.count == 1 && after.first?["id"] as? String == pages.first?["id"] as? String,
                "the same page, updated in place")
            #expect((after.first?["html"] as? String)?.contains("Changed between runs") == true)
            #expect(
                try await harness.sandbox.execute(uri: "/sandbox/counters", method: .get).json["graphql"] as? Int ?? 0
                    == graphQLBefore,
                "the forwarded user token was used, not an offline one")

            // Microsoft revokes: the next run fails for good with reconnect_required.
            _ = try await harness.sandbox.execute(uri: "/sandbox/revoke", method: .post)
            let third = try await harness.run(client, reportId)
            #expect(
                third["status"] as? String == "failed"
                    && (third["error"] as? [String: Any])?["code"] as? String == "reconnect_required", "\(third)")
            let me = try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers())
            #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "reconnect_required")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func failurePathsEndAsTheyShould(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 22, issues: 30, limited: true, fastWriter: true) {
            harness, client in
            try await harness.installAndConnect(client)
            func errorCode(_ run: [String: Any]) -> String? { (run["error"] as? [String: Any])?["code"] as? String }

            // JQL Jira does not accept is refused when saved, at the field, with Jira's message once.
            let refused = try await client.execute(
                uri: "/v1/reports", method: .post, headers: try await harness.headers(forwardUserToken: true),
                body: ByteBuffer(
                    string:
                        #"{"name":"R","jql":"priority = High","columns":["key"],"sectionId":"\#(Notebooks.all[0].sections[0].id)"}"#
                ))
            #expect(refused.status == .unprocessableContent && refused.errorCode == "invalid_jql", "\(refused.text)")
            #expect(
                refused.text.contains(
                    #"jql: Field 'priority' does not exist or you do not have permission to view it."#),
                "\(refused.text)")
            // JQL Jira stops accepting after it was saved (a project deleted since): the run fails for
            // good, with Jira's reason once.
            let laterBad = try await harness.createReport(client, jql: "project = WEB")
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":400,"count":1}"#))
            let badJQL = try await harness.run(client, laterBad)
            #expect(badJQL["status"] as? String == "failed" && errorCode(badJQL) == "invalid_jql", "\(badJQL)")
            #expect((badJQL["error"] as? [String: Any])?["message"] as? String == "Injected fault: HTTP 400.")
            // A section that does not exist: permanent.
            let noSection = try await harness.run(
                client, try await harness.createReport(client, jql: "project = WEB", section: "1-deleted-section!9"))
            #expect(
                noSection["status"] as? String == "failed" && errorCode(noSection) == "section_not_found",
                "\(noSection)")

            // Jira 429 with Retry-After, then OneNote 429s and a 503: the run still completes.
            let reportId = try await harness.createReport(client, jql: "project = WEB ORDER BY key")
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/ex/jira/*/search/jql","status":429,"count":1,"retryAfter":1}"#))
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":429,"count":3}"#))
            let throttled = try await harness.run(client, reportId)
            #expect(throttled["status"] as? String == "succeeded", "\(throttled)")
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":503,"count":1}"#))
            let afterOutage = try await harness.run(client, reportId)
            #expect(afterOutage["status"] as? String == "succeeded", "a 503 is retried by the queue: \(afterOutage)")

            // The user deletes the page: the next run creates a new one.
            let pages = try await harness.pages()
            let pageId = try #require(pages.last?["id"] as? String)
            let owner = ReportOwner(installationId: harness.state.installationId, accountId: "sandbox-user-1")
            let access = try await harness.services.tokens.accessToken(owner, lease: nil, logger: silentLogger)
            #expect(
                try await harness.sandbox.execute(
                    uri: "/v1.0/me/onenote/pages/\(pageId)", method: .delete,
                    headers: [.authorization: "Bearer \(access.revealed)"]
                ).status == .noContent)
            let recreated = try await harness.run(client, reportId)
            #expect(recreated["status"] as? String == "succeeded")
            let now = try await harness.pages()
            #expect(
                now.count == pages.count && !now.contains { $0["id"] as? String == pageId },
                "a new page replaced the deleted one")
            #expect(try await harness.services.queue.stats().running == 0)
            let budget = try await harness.integers("SELECT count(*) FROM onenote_requests")[0]
            #expect(budget > 0, "OneNote requests drew from the shared budget")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func oneOneNote401IsRefreshedAwayButTwoInARowAskTheUserToReconnect(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 24, issues: 20, fastWriter: true) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            func microsoftStatus() async throws -> String? {
                (try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers()).json[
                    "microsoft"] as? [String: Any])?["status"] as? String
            }
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":401,"count":1}"#))
            let once = try await harness.run(client, reportId)
            #expect(once["status"] as? String == "succeeded", "\(once)")
            #expect(try await microsoftStatus() == "active")

            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":401,"count":2}"#))
            let twice = try await harness.run(client, reportId)
            #expect(
                twice["status"] as? String == "failed"
                    && (twice["error"] as? [String: Any])?["code"] as? String == "reconnect_required", "\(twice)")
            #expect(try await microsoftStatus() == "reconnect_required")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aRunWaitingForItsRetryShowsLastErrorNotError(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 25, issues: 20, fastWriter: true) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            _ = try await harness.sandbox.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":503,"count":1}"#))
            let started = try await client.execute(
                uri: "/v1/reports/\(reportId)/runs", method: .post, headers: try await harness.headers())
            let runId = try #require(started.json["id"] as? String)
            var waiting: [String: Any] = [:]
            #expect(
                try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(5)) {
                    waiting = try await client.execute(
                        uri: "/v1/runs/\(runId)", method: .get, headers: try await harness.headers()
                    ).json
                    // The run row says "queued" a moment before the worker hands the job back (its next
                    // lease transaction); the retry's due time shows from then on.
                    return waiting["status"] as? String == "queued" && waiting["lastError"] is [String: Any]
                        && waiting["nextAttemptAt"] is String
                }, "\(waiting)")
            #expect(waiting["error"] is NSNull, "a retry is not a failure: \(waiting)")
            #expect((waiting["lastError"] as? [String: Any])?["code"] as? String == "onenote_unavailable")
            #expect(waiting["nextAttemptAt"] is String, "when the retry is due: \(waiting)")
            var finished: [String: Any] = [:]
            #expect(
                try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                    finished = try await client.execute(
                        uri: "/v1/runs/\(runId)", method: .get, headers: try await harness.headers()
                    ).json
                    return finished["status"] as? String == "succeeded"
                }, "\(finished)")
            #expect(
                finished["error"] is NSNull && finished["lastError"] is NSNull && finished["nextAttemptAt"] is NSNull)
        }
    }

    /// Eight runs of one user at once: the refresh token is redeemed once for all of them, and once a
    /// revoked one came back `invalid_grant`, no other job redeems it again.
    @Test(arguments: StorageBackend.allCases)
    func tokenRefreshIsSingleFlightPerConnectionAndARevokedTokenIsRedeemedOnce(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 26, issues: 20, fastWriter: true) { harness, client in
            try await harness.installAndConnect(client)
            var reports: [String] = []
            for index in 0..<8 {
                reports.append(
                    try await harness.createReport(client, name: "R\(index)", jql: "project = OPS ORDER BY key"))
            }
            func tokenCalls() async throws -> Int {
                try await harness.sandbox.execute(uri: "/sandbox/counters", method: .get).json["token"] as? Int ?? 0
            }
            func runAll() async throws -> [[String: Any]] {
                var ids: [String] = []
                for report in reports {
                    ids.append(
                        try #require(
                            try await client.execute(
                                uri: "/v1/reports/\(report)/runs", method: .post, headers: try await harness.headers()
                            ).json["id"] as? String))
                }
                var finished: [[String: Any]] = []
                _ = try await waitUntil(timeout: .seconds(60), pollEvery: .milliseconds(50)) {
                    finished = []
                    for id in ids {
                        finished.append(
                            try await client.execute(
                                uri: "/v1/runs/\(id)", method: .get, headers: try await harness.headers()
                            ).json)
                    }
                    return finished.allSatisfy { ["succeeded", "failed"].contains($0["status"] as? String ?? "") }
                }
                return finished
            }
            let before = try await tokenCalls()
            let fine = try await runAll()
            #expect(fine.allSatisfy { $0["status"] as? String == "succeeded" }, "\(fine)")
            #expect(try await tokenCalls() - before == 1, "one redemption; the access token is shared while valid")
            // The cached access token is a ciphertext: no stored byte sequence is the sandbox's token.
            let contains =
                harness.backend == .sqlite
                ? "instr(CAST(access_token_ciphertext AS TEXT), 'sandbox-access-') > 0"
                : "position('sandbox-access-'::bytea IN access_token_ciphertext) > 0"
            #expect(
                try await harness.integers(
                    "SELECT count(*) FROM microsoft_connections WHERE access_token_ciphertext IS NOT NULL") == [1])
            #expect(
                try await harness.integers("SELECT count(*) FROM microsoft_connections WHERE \(contains)") == [0],
                "the shared access token is kept encrypted")

            _ = try await harness.sandbox.execute(uri: "/sandbox/revoke", method: .post)
            let revokedAt = try await tokenCalls()
            let refused = try await runAll()
            #expect(
                refused.allSatisfy {
                    $0["status"] as? String == "failed"
                        && ($0["error"] as? [String: Any])?["code"] as? String == "reconnect_required"
                }, "\(refused)")
            #expect(try await tokenCalls() - revokedAt == 1, "the revoked token was redeemed once, not once per job")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aRunOfAUserWhoNeverConnectedSaysSoInTheWordsOfV1Me(_ backend: StorageBackend) async throws {
        try await PipelineHarness.run(backend: backend, seed: 27, issues: 10, fastWriter: true) { harness, client in
            #expect(
                try await client.execute(
                    uri: "/forge/trigger", method: .post, headers: try await harness.triggerHeaders()
                ).status == .ok)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            let run = try await harness.run(client, reportId, forwardUserToken: true)
            #expect(
                run["status"] as? String == "failed"
                    && (run["error"] as? [String: Any])?["code"] as? String == "microsoft_not_connected", "\(run)")
            let me = try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers())
            #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "not_connected")
            let sections = try await client.execute(
                uri: "/v1/onenote/sections", method: .get, headers: try await harness.headers())
            #expect(
                sections.status == .conflict
                    && sections.json["error"].flatMap { ($0 as? [String: Any])?["code"] as? String }
                        == "microsoft_not_connected"
            )
        }
    }

    @Test func aFiveThousandIssueReportIsWrittenInParts() async throws {
        try await PipelineHarness.run(seed: 23, issues: 10_000, maxPartBytes: 400_000) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            let run = try await harness.run(client, reportId)
            #expect(run["status"] as? String == "succeeded" && run["issueCount"] as? Int == 5000, "\(run)")
            let html = try #require(try await harness.pages().first?["html"] as? String)
            #expect(html.components(separatedBy: "data-id=\"jira-report").count - 1 >= 3, "written as several tables")
            #expect(html.components(separatedBy: "</a></td>").count - 1 == 5000, "every issue once")
            #expect(html.contains(">OPS-1</a>") && html.contains(">OPS-5000</a>"))
        }
    }
}
