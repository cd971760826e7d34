import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Rendering
import ReportsTesting
import SecurityTesting
import TestSupport
import Testing

@testable import Enqueuer
@testable import JobQueue
@testable import Reports
@testable import ReportsAPI
@testable import SQLiteBackend
@testable import Security

/// The API through HummingbirdTesting, with FITs signed by the test key, a JWKS served over loopback
/// HTTP and Microsoft/Jira stand-ins on loopback.
@Suite("API routes")
struct APIRouterTests {
    static let section = "1-6b9f1b3c-2d4e-4f60-8a1b-1c2d3e4f5a6b!31-816F7725BE12893!274"
    static let reportBody =
        #"{"name":"Open bugs","jql":"project = OPS ORDER BY key","columns":["key","summary","status"],"sectionId":"\#(section)","schedule":{"cron":"0 8 * * 1-5","timeZone":"Europe/Berlin"}}"#

    /// A query Jira refuses is not saved: 422 `invalid_jql` at the field with Jira's message once, for
    /// JQL and for a saved filter the user cannot see; a query the report already had is not asked again.
    @Test func aReportsQueryIsCheckedWithJiraWhenSaved() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let alice = try await harness.editorHeaders()
                func body(_ source: String) -> ByteBuffer {
                    ByteBuffer(
                        string: #"{"name":"R",\#(source),"columns":["key"],"sectionId":"\#(Self.section)"}"#)
                }
                let refused = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: body(#""jql":"project = NOPE""#))
                #expect(refused.status == .unprocessableContent && refused.errorCode == "invalid_jql")
                #expect(
                    refused.json["error"].flatMap { ($0 as? [String: Any])?["message"] as? String }
                        == "jql: The value 'NOPE' does not exist for the field 'project'.")
                let hidden = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: body(#""filterId":"99999""#))
                #expect(hidden.status == .unprocessableContent && hidden.errorCode == "invalid_jql")
                #expect(hidden.text.contains("filterId: this saved filter no longer exists or is not shared with you"))
                let withoutUser = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: try await harness.headers(),
                    body: body(#""jql":"project = OPS""#))
                #expect(withoutUser.status == .badRequest && withoutUser.errorCode == "user_token_required")
                let listed = try await client.execute(uri: "/v1/reports", method: .get, headers: alice)
                #expect((listed.json["reports"] as? [Any])?.isEmpty == true, "nothing refused was saved")

                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: body(#""filterId":"10000""#))
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["id"] as? String)
                let renamed = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: try await harness.headers(),
                    body: body(#""filterId":"10000""#))
                #expect(renamed.status == .ok, "the same filter is not checked again: \(renamed.text)")
                let changed = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: alice, body: body(#""jql":"project = NOPE""#))
                #expect(changed.status == .unprocessableContent && changed.errorCode == "invalid_jql")
            }
        }
    }

    /// A user past their report writes this minute is refused before Jira is asked about the query: a
    /// flood of saves costs the site no Jira calls.
    @Test func aUserPastTheirWritesIsRefusedBeforeJiraIsAsked() async throws {
        let limits = try TenantLimits(environment: ["REPORTS_REPORT_WRITES_PER_MINUTE": "2"])
        try await APIHarness.run(limits: limits) { harness in
            try await harness.test { client in
                let alice = try await harness.editorHeaders()
                let body = ByteBuffer(
                    string: #"{"name":"R","jql":"project = OPS","columns":["key"],"sectionId":"\#(Self.section)"}"#)
                for _ in 0..<2 {
                    let created = try await client.execute(
                        uri: "/v1/reports", method: .post, headers: alice, body: body)
                    #expect(created.status == .created, "\(created.text)")
                }
                let asked = harness.upstream.parseRequests
                #expect(asked == 2)
                for _ in 0..<3 {
                    let refused = try await client.execute(
                        uri: "/v1/reports", method: .post, headers: alice, body: body)
                    #expect(refused.status == .tooManyRequests && refused.errorCode == "report_writes_rate_limited")
                }
                #expect(harness.upstream.parseRequests == asked, "no query was sent to Jira for a refused write")
            }
        }
    }

    @Test func quotasAnswerWithStableCodesAndRunNowWithRetryAfter() async throws {
        var limits = TenantLimits()
        limits.reportsPerUser = 3
        limits.runNowPerMinute = 2
        try await APIHarness.run(limits: limits) { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test { client in
                let frequent = Self.reportBody.replacingOccurrences(of: "0 8 * * 1-5", with: "*/5 * * * *")
                let refused = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: frequent))
                #expect(refused.status == .unprocessableContent)
                let error = refused.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == "schedule_too_frequent", "\(refused.text)")
                #expect((error?["message"] as? String)?.contains("15 minutes") == true, "\(refused.text)")

                var ids: [String] = []
                for _ in 0..<3 {
                    let created = try await client.execute(
                        uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.reportBody))
                    ids.append(try #require(created.json["id"] as? String))
                }
                let fourth = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.reportBody))
                #expect(
                    fourth.status == .unprocessableContent
                        && (fourth.json["error"] as? [String: Any])?["code"] as? String == "report_quota_exceeded",
                    "\(fourth.text)")

                for id in ids.prefix(2) {
                    #expect(
                        try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: alice).status
                            == .accepted)
                }
                let limited = try await client.execute(uri: "/v1/reports/\(ids[2])/runs", method: .post, headers: alice)
                #expect(limited.status == .tooManyRequests, "\(limited.text)")
                #expect((limited.json["error"] as? [String: Any])?["code"] as? String == "run_now_rate_limited")
                #expect(
                    limited.headers[.retryAfter] == "60",
                    "the first Run now leaves the window a minute after it (the test clock stands still)")
            }
        }
    }

    @Test func reportsRunsAndMeHappyPath() async throws {
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test { client in
                let me = try await client.execute(uri: "/v1/me", method: .get, headers: alice)
                #expect(me.status == .ok)
                #expect(me.json["accountId"] as? String == "557058:alice")
                #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "not_connected")

                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.reportBody))
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["id"] as? String)
                #expect(created.json["nextRunAt"] is String)
                #expect((created.json["schedule"] as? [String: Any])?["timeZone"] as? String == "Europe/Berlin")

                let list = try await client.execute(uri: "/v1/reports", method: .get, headers: alice)
                #expect((list.json["reports"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
                let updated = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: alice,
                    body: ByteBuffer(string: Self.reportBody.replacingOccurrences(of: "Open bugs", with: "All bugs")))
                #expect(updated.status == .ok && updated.json["name"] as? String == "All bugs")

                let run = try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: alice)
                #expect(run.status == .accepted)
                #expect(run.json["created"] as? Bool == true && run.json["status"] as? String == "queued")
                let again = try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: alice)
                #expect(
                    again.status == .accepted && again.json["id"] as? String == run.json["id"] as? String
                        && again.json["created"] as? Bool == false)
                let runs = try await client.execute(uri: "/v1/reports/\(id)/runs?limit=5", method: .get, headers: alice)
                #expect((runs.json["runs"] as? [[String: Any]])?.count == 1)
                let one = try await client.execute(
                    uri: "/v1/runs/\(run.json["id"] as! String)", method: .get, headers: alice)
                #expect(one.status == .ok && one.json["reportId"] as? String == id)

                let deleted = try await client.execute(uri: "/v1/reports/\(id)", method: .delete, headers: alice)
                #expect(deleted.status == .noContent)
                #expect(
                    try await client.execute(uri: "/v1/reports/\(id)", method: .get, headers: alice).status == .notFound
                )

                #expect(
                    try await client.execute(
                        uri: "/forge/trigger", method: .post, headers: try await harness.headers(nil)
                    ).text == "{}")
                #expect(
                    try await client.execute(
                        uri: "/forge/lifecycle", method: .post, headers: try await harness.headers(nil)
                    ).status == .ok)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok && health.json["status"] as? String == "ok")
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                #expect(metrics.text.contains("reports_http_requests_total"))
                #expect(metrics.text.contains(#"reports_enqueued_jobs_total{trigger="manual"} 1"#))
                // Queue depth is read at scrape time: the one Run now job is waiting, none running.
                let stats = try await harness.services.queue.stats()
                #expect(stats.available + stats.discarded + stats.succeeded == 1)
                #expect(
                    metrics.text.contains(#"reports_queue_jobs{state="available"} \#(stats.available)"#),
                    "\(metrics.text)")
                #expect(metrics.text.contains(#"reports_queue_jobs{state="running"} 0"#))
                #expect(metrics.text.contains("reports_queue_oldest_due_age_seconds"))
            }
        }
    }

    @Test func everyFITFailureIs401AndCountedByCode() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                // At the fixtures' moment, every PyJWT-made failure class is a 401; the good ones pass.
                harness.clock.advance(
                    by: .seconds(Int64(Fixtures.fits.verifyAt) - Int64(harness.clock.now.timeIntervalSince1970)))
                for fixture in Fixtures.fits.cases {
                    let response = try await client.execute(
                        uri: "/forge/trigger", method: .post, headers: [.authorization: "Bearer \(fixture.token)"])
                    if fixture.expect == "ok" {
                        #expect(response.status == .ok, "\(fixture.name)")
                    } else {
                        #expect(response.status == .unauthorized, "\(fixture.name)")
                        #expect(response.errorCode == "unauthorized")
                    }
                }
                let wrongAudience = try await harness.minter.token(
                    installation: ReportFixture.installationA, account: "557058:alice", apiBaseUrl: harness.apiBaseUrl,
                    now: harness.clock.now,
                    audience: "ari:cloud:ecosystem::app/other")
                for headers: HTTPFields in [
                    [:], [.authorization: "Basic abc"], [.authorization: "Bearer \(wrongAudience)"],
                ] {
                    let response = try await client.execute(uri: "/v1/me", method: .get, headers: headers)
                    #expect(response.status == .unauthorized && response.errorCode == "unauthorized")
                }
                let metrics = try await client.execute(uri: "/metrics", method: .get).text
                func count(_ code: String) -> Int? {
                    metrics.split(separator: "\n").first {
                        $0.hasPrefix(#"reports_fit_failures_total{code="\#(code)"}"#)
                    }
                    .flatMap { $0.split(separator: " ").last.flatMap { Int($0) } }
                }
                #expect(count("wrongAudience") == 3, "two fixtures and one minted token")
                #expect(count("expired") == 1 && count("notYetValid") == 2 && count("badSignature") == 3)
                #expect(count("replayed") == 0, "every code is exported, zeros too")
            }
        }
    }

    @Test func anotherUserOrInstallationSees404() async throws {
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            let bob = try await harness.headers("557058:bob")
            let eve = try await harness.headers("557058:alice", installation: ReportFixture.installationB)
            try await harness.test { client in
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.reportBody))
                let id = try #require(created.json["id"] as? String)
                let run = try await client.execute(uri: "/v1/reports/\(id)/runs", method: .post, headers: alice)
                let runId = try #require(run.json["id"] as? String)
                for stranger in [bob, eve] {
                    for (uri, method) in [
                        ("/v1/reports/\(id)", HTTPRequest.Method.get), ("/v1/reports/\(id)", .delete),
                        ("/v1/reports/\(id)/runs", .post), ("/v1/reports/\(id)/runs", .get),
                        ("/v1/runs/\(runId)", .get),
                    ] {
                        let response = try await client.execute(uri: uri, method: method, headers: stranger)
                        #expect(response.status == .notFound && response.errorCode == "not_found", "\(method) \(uri)")
                    }
                    let put = try await client.execute(
                        uri: "/v1/reports/\(id)", method: .put, headers: stranger,
                        body: ByteBuffer(string: Self.reportBody))
                    #expect(put.status == .notFound)
                    let list = try await client.execute(uri: "/v1/reports", method: .get, headers: stranger)
                    #expect((list.json["reports"] as? [Any])?.isEmpty == true)
                }
                #expect(try await client.execute(uri: "/v1/reports/\(id)", method: .get, headers: alice).status == .ok)
                // Triggers carry no user: user routes refuse them.
                let trigger = try await client.execute(
                    uri: "/v1/reports", method: .get, headers: try await harness.headers(nil))
                #expect(trigger.status == .forbidden && trigger.errorCode == "user_required")
            }
        }
    }

    @Test func badBodiesGetA4xxJSONErrorNeverA500() async throws {
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test { client in
                let huge = String(repeating: "x", count: 70_000)
                let cases: [(String, HTTPResponse.Status, String)] = [
                    ("not json", .badRequest, "invalid_json"),
                    ("[1,2,3]", .badRequest, "invalid_json"),
                    (#"{"name":"#, .badRequest, "invalid_json"),
                    (
                        Self.reportBody.replacingOccurrences(of: #""name":"Open bugs""#, with: #""name":42"#),
                        .badRequest, "invalid_field"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(
                            of: #""columns":["key","summary","status"]"#, with: #""columns":"key""#), .badRequest,
                        "invalid_field"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(of: #"{"name""#, with: #"{"owner":"557058:eve","name""#),
                        .badRequest, "unknown_field"
                    ),
                    (#"{"name":"x"}"#, .badRequest, "missing_field"),
                    (#"{"name":"\#(huge)"}"#, .contentTooLarge, "body_too_large"),
                    (
                        Self.reportBody.replacingOccurrences(
                            of: "Open bugs", with: String(repeating: "n", count: 5000)), .unprocessableContent,
                        "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(of: "0 8 * * 1-5", with: "0 8 * * 9"),
                        .unprocessableContent, "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(of: "Europe/Berlin", with: "Mars/Olympus"),
                        .unprocessableContent, "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(of: #""key","#, with: #""<script>","#),
                        .unprocessableContent, "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(of: #"{"name""#, with: #"{"layout":{"rows":2},"name""#),
                        .badRequest, "unknown_field"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(
                            of: #"{"name""#, with: #"{"layout":{"groupBy":"mood"},"name""#),
                        .unprocessableContent, "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(
                            of: #"{"name""#, with: #"{"layout":{"sumField":"points; DROP"},"name""#),
                        .unprocessableContent, "invalid_report"
                    ),
                    (
                        Self.reportBody.replacingOccurrences(
                            of: #"{"name""#, with: #"{"layout":{"summary":"yes"},"name""#),
                        .badRequest, "invalid_field"
                    ),
                ]
                for (body, status, code) in cases {
                    let response = try await client.execute(
                        uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: body))
                    #expect(
                        response.status == status, "\(body.prefix(60)): \(response.status) \(response.text.prefix(200))"
                    )
                    #expect(response.errorCode == code, "\(body.prefix(60))")
                }
                var textPlain = alice
                textPlain[.contentType] = "text/plain"
                let wrongType = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: textPlain, body: ByteBuffer(string: Self.reportBody))
                #expect(wrongType.status == .unsupportedMediaType && wrongType.errorCode == "unsupported_media_type")
                for (uri, status) in [
                    ("/v1/reports/not-a-uuid", HTTPResponse.Status.notFound),
                    ("/v1/reports/\(UUID().uuidString)/runs?limit=abc", .badRequest),
                    ("/v1/nowhere", .notFound), ("/v1/runs/\(String(repeating: "r", count: 500))", .notFound),
                ] {
                    let response = try await client.execute(uri: uri, method: .get, headers: alice)
                    #expect(response.status == status && response.errorCode != nil, "\(uri)")
                }
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.reportBody))
                let id = try #require(created.json["id"] as? String)
                let badLimit = try await client.execute(
                    uri: "/v1/reports/\(id)/runs?limit=0", method: .get, headers: alice)
                #expect(badLimit.status == .badRequest && badLimit.errorCode == "invalid_parameter")
                // Nothing of the refused bodies was stored.
                #expect(
                    try await harness.fixture.reports.list(
                        ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")
                    ).count == 1)
            }
        }
    }

    @Test func aConnectedUserListsSectionsUntilTheTokenIsRevokedThenDisconnects() async throws {
        try await APIHarness.run { harness in
            let owner = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")
            try await harness.test { client in
                // Connected through the whole flow (ConnectFlowTests checks each of its steps).
                let browser = ConnectBrowser.router(client)
                let (callback, _) = try await ConnectFlowTests.begin(harness, client, browser)
                let connected = try await browser.confirm(page: try await browser.callback(callback).text)
                #expect(connected.status == 200, "\(connected.text)")

                // Connected: sections through Graph (rotating the refresh token), then disconnect.
                let me = try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers())
                #expect((me.json["microsoft"] as? [String: Any])?["status"] as? String == "active")
                let sections = try await client.execute(
                    uri: "/v1/onenote/sections", method: .get, headers: try await harness.headers())
                #expect(sections.status == .ok, "\(sections.text)")
                #expect(((sections.json["sections"] as? [[String: Any]])?.first)?["notebookName"] as? String == "Team")
                #expect(
                    try await harness.sqlite.connections.refreshToken(owner)?.revealed == "refresh-2",
                    "the rotated refresh token is stored")
                let budgeted = try await harness.sqlite.database.pool.read {
                    try Int.fetchOne($0, sql: "SELECT count(*) FROM onenote_requests") ?? 0
                }
                #expect(
                    budgeted == 1, "the section listing drew from the user's OneNote budget shared with the workers")

                harness.upstream.revoke()
                let revoked = try await client.execute(
                    uri: "/v1/onenote/sections", method: .get, headers: try await harness.headers())
                #expect(revoked.status == .conflict && revoked.errorCode == "reconnect_required")
                #expect(try await harness.services.connections.connection(owner)?.status == .reconnectRequired)
                // Asked again, the answer uses the same word as /v1/me, not "not connected".
                let again = try await client.execute(
                    uri: "/v1/onenote/sections", method: .get, headers: try await harness.headers())
                #expect(again.status == .conflict && again.errorCode == "reconnect_required", "\(again.text)")

                let disconnected = try await client.execute(
                    uri: "/v1/microsoft/connection", method: .delete, headers: try await harness.headers())
                #expect(disconnected.status == .noContent)
                #expect(try await harness.services.connections.connection(owner) == nil)
            }
        }
    }

    @Test func theColumnPickerFindsEveryFieldByNameWithItsType() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let withoutUser = try await client.execute(
                    uri: "/v1/jira/fields", method: .get, headers: try await harness.headers())
                #expect(withoutUser.status == .badRequest && withoutUser.errorCode == "user_token_required")
                let headers = try await harness.headers(extra: [FITMiddleware.userTokenHeader: "user-token-1"])
                let all = try await client.execute(uri: "/v1/jira/fields", method: .get, headers: headers)
                #expect(all.status == .ok, "\(all.text)")
                let fields = try #require(all.json["fields"] as? [[String: Any]])
                let ids = fields.compactMap { $0["id"] as? String }
                #expect(Array(ids.prefix(ReportColumn.standardIds.count)) == ReportColumn.standardIds)
                #expect(
                    Array(ids.dropFirst(ReportColumn.standardIds.count))
                        == ["customfield_1", "customfield_10020", "customfield_10016"],
                    "custom fields by name; an entry Jira lists oddly keeps its id and name, one without an id is skipped"
                )
                let sprint = try #require(fields.first { $0["id"] as? String == "customfield_10020" })
                #expect(sprint["name"] as? String == "Sprint" && sprint["type"] as? String == "sprint")
                #expect(sprint["custom"] as? Bool == true)
                #expect(fields.first { $0["id"] as? String == "duedate" }?["type"] as? String == "date")

                let found = try await client.execute(
                    uri: "/v1/jira/fields?query=story", method: .get, headers: headers)
                #expect(
                    (found.json["fields"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Story points"])
                #expect((found.json["fields"] as? [[String: Any]])?.first?["type"] as? String == "number")
                #expect(found.json["truncated"] as? Bool == false)
                #expect(harness.upstream.fieldRequests == 1, "Jira's list is read once for the user's searches")
                harness.clock.advance(by: .seconds(301))
                let later = try await client.execute(
                    uri: "/v1/jira/fields?query=x", method: .get,
                    headers: try await harness.headers(extra: [FITMiddleware.userTokenHeader: "user-token-1"]))
                #expect(later.status == .ok, "\(later.text)")
                #expect(harness.upstream.fieldRequests == 2, "and again after five minutes")
            }
        }
    }

    @Test func filtersUseTheForwardedUserTokenAndSystemTokensAreStored() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let withoutUser = try await client.execute(
                    uri: "/v1/jira/filters", method: .get, headers: try await harness.headers())
                #expect(withoutUser.status == .badRequest && withoutUser.errorCode == "user_token_required")
                let headers = try await harness.headers(extra: [FITMiddleware.userTokenHeader: "user-token-1"])
                let filters = try await client.execute(
                    uri: "/v1/jira/filters?query=Mine", method: .get, headers: headers)
                #expect(filters.status == .ok, "\(filters.text)")
                #expect(
                    (filters.json["filters"] as? [[String: Any]])?.first?["jql"] as? String
                        == "assignee = currentUser() ORDER BY key")
                #expect(filters.json["truncated"] as? Bool == false, "the answer says whether the list was cut")

                // A trigger (a FIT without a principal) with a system token: stored encrypted, and the latest to
                // arrive wins whatever `exp` it claims.
                func systemToken(exp: Int) -> String { "h.\(Base64URL.encode(Data(#"{"exp":\#(exp)}"#.utf8))).s" }
                func trigger(_ token: String) async throws {
                    let response = try await client.execute(
                        uri: "/forge/trigger", method: .post,
                        headers: try await harness.headers(nil, extra: [FITMiddleware.systemTokenHeader: token]))
                    #expect(response.status == .ok)
                }
                func stored() async throws -> (token: Secret, expiresAt: Date) {
                    try #require(
                        try await harness.sqlite.installations.systemToken(
                            installationId: ReportFixture.installationA))
                }
                let now = Int(harness.clock.now.timeIntervalSince1970)
                for exp in [now + 7200, now + 3600] { try await trigger(systemToken(exp: exp)) }
                #expect(try await stored().token.revealed == systemToken(exp: now + 3600), "the most recent wins")

                // A user's call cannot plant one: the header is ignored on a FIT with a principal.
                let forged = systemToken(exp: 4_102_444_800)  // 2100
                let planted = try await client.execute(
                    uri: "/v1/me", method: .get,
                    headers: try await harness.headers(extra: [FITMiddleware.systemTokenHeader: forged]))
                #expect(planted.status == .ok)
                #expect(
                    try await stored().token.revealed == systemToken(exp: now + 3600), "a user's header is not stored")

                // Even from a trigger, a far `exp` neither pins the token nor counts beyond 4 hours.
                try await trigger(forged)
                #expect(try await stored().token.revealed == forged)
                #expect(
                    try await stored().expiresAt <= harness.clock.now.addingTimeInterval(4 * 3600),
                    "the claimed expiry is capped")
                try await trigger(systemToken(exp: now + 3600))
                #expect(try await stored().token.revealed == systemToken(exp: now + 3600), "the next token replaces it")
                let raw = try await harness.fixture.database.pool.read { db in
                    try Data.fetchOne(
                        db, sql: "SELECT system_token_ciphertext FROM installations WHERE id = ?",
                        arguments: [ReportFixture.installationA])
                }
                #expect(raw.map { !String(decoding: $0, as: UTF8.self).contains("h.") } == true, "stored as ciphertext")
            }
        }
    }
}
