import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Reports
import ReportsTesting
import SQLiteBackend
import Security
import TestSupport
import Testing

/// The admin page's routes: only a call from the admin page module, by a user Jira says administers
/// the site, reaches them; they show the caller's own site, pause and resume its schedules, and remove
/// one user's Microsoft connection.
@Suite("Site admin routes")
struct SiteAdminTests {
    @Test func onlyTheAdminPageAndAJiraAdministratorReachTheAdminRoutes() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                func site(_ headers: HTTPFields) async throws -> TestResponse {
                    try await client.execute(uri: "/v1/admin/site", method: .get, headers: headers)
                }
                let fromThePage = try await site(
                    try await harness.headers(
                        "557058:admin", extra: [HTTPField.Name("x-forge-oauth-user")!: "user-token-admin"]))
                #expect(
                    fromThePage.status == .forbidden && fromThePage.errorCode == "admin_page_only",
                    "\(fromThePage.text)")
                let otherModule = try await site(try await harness.adminHeaders(module: "onenote-reports-page"))
                #expect(otherModule.errorCode == "admin_page_only")
                let notAdmin = try await site(try await harness.adminHeaders("557058:alice", userToken: "user-token-1"))
                #expect(
                    notAdmin.status == .forbidden && notAdmin.errorCode == "jira_admin_required", "\(notAdmin.text)")
                let noToken = try await site(try await harness.adminHeaders(userToken: nil))
                #expect(noToken.status == .badRequest && noToken.errorCode == "user_token_required")
                let rejected = try await site(try await harness.adminHeaders(userToken: "revoked"))
                #expect(
                    rejected.status == .forbidden && rejected.errorCode == "jira_admin_required",
                    "a token Jira refuses is no admin: \(rejected.text)")
                let trigger = try await client.execute(
                    uri: "/v1/admin/site", method: .get,
                    headers: try await harness.headers(nil, module: ForgeConfiguration.defaultAdminModuleKey))
                #expect(trigger.status == .forbidden && trigger.errorCode == "user_required")
                // The other two routes sit behind the same check.
                let put = try await client.execute(
                    uri: "/v1/admin/site/schedules", method: .put,
                    headers: try await harness.adminHeaders("557058:alice", userToken: "user-token-1"),
                    body: ByteBuffer(string: #"{"paused":true}"#))
                #expect(put.errorCode == "jira_admin_required")
                let delete = try await client.execute(
                    uri: "/v1/admin/users/557058:bob/microsoft-connection", method: .delete,
                    headers: try await harness.headers(extra: [
                        HTTPField.Name("x-forge-oauth-user")!: "user-token-admin"
                    ]))
                #expect(delete.errorCode == "admin_page_only")

                let admitted = try await site(try await harness.adminHeaders())
                #expect(admitted.status == .ok, "\(admitted.text)")
            }
        }
    }

    @Test func theAdminSeesTheirSiteAndPausesItsSchedules() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let scheduled =
                    #"{"name":"Weekly","jql":"project = OPS","columns":["key"],"sectionId":"\#(APIRouterTests.section)","schedule":{"cron":"0 8 * * 1","timeZone":"Europe/Berlin"}}"#
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: try await harness.editorHeaders(),
                    body: ByteBuffer(string: scheduled))
                #expect(created.status == .created, "\(created.text)")
                let elsewhere = try await client.execute(
                    uri: "/v1/reports", method: .post,
                    headers: try await harness.headers(
                        "557058:carol", installation: ReportFixture.installationB,
                        extra: [HTTPField.Name("x-forge-oauth-user")!: "user-token-1"]),
                    body: ByteBuffer(string: scheduled))
                #expect(elsewhere.status == .created, "\(elsewhere.text)")

                let admin = try await harness.adminHeaders()
                let site = try await client.execute(uri: "/v1/admin/site", method: .get, headers: admin)
                let users = try #require(site.json["users"] as? [[String: Any]])
                #expect(users.count == 1, "only the caller's site: \(site.text)")
                #expect(users.first?["displayName"] as? String == "Alice Example")
                #expect(
                    users.first?["scheduledReports"] as? Int == 1
                        && users.first?["microsoft"] as? String == "not_connected")
                let quotas = try #require(site.json["quotas"] as? [String: Any])
                #expect(quotas["reportsPerUser"] as? Int == TenantLimits().reportsPerUser)
                #expect((site.json["site"] as? [String: Any])?["schedulesPaused"] as? Bool == false)

                let paused = try await client.execute(
                    uri: "/v1/admin/site/schedules", method: .put, headers: admin,
                    body: ByteBuffer(string: #"{"paused":true}"#))
                #expect(paused.status == .ok && paused.json["schedulesPaused"] as? Bool == true, "\(paused.text)")
                let me = try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers())
                #expect(me.json["schedulesPaused"] as? Bool == true, "the app tells its users: \(me.text)")
                let otherSite = try await client.execute(
                    uri: "/v1/me", method: .get,
                    headers: try await harness.headers("557058:carol", installation: ReportFixture.installationB))
                #expect(otherSite.json["schedulesPaused"] as? Bool == false)
                let bad = try await client.execute(
                    uri: "/v1/admin/site/schedules", method: .put, headers: admin,
                    body: ByteBuffer(string: #"{"paused":"yes"}"#))
                #expect(bad.status == .badRequest, "\(bad.text)")
                let resumed = try await client.execute(
                    uri: "/v1/admin/site/schedules", method: .put, headers: admin,
                    body: ByteBuffer(string: #"{"paused":false}"#))
                #expect(resumed.json["schedulesPaused"] as? Bool == false)
            }
        }
    }

    @Test func theAdminRemovesOneUsersMicrosoftConnection() async throws {
        try await APIHarness.run { harness in
            let bob = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:bob")
            let alice = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")
            try await harness.test { client in
                // The installation row comes with the first verified call.
                _ = try await client.execute(uri: "/v1/me", method: .get, headers: try await harness.headers())
                for owner in [bob, alice] {
                    try await harness.sqlite.connections.save(
                        owner, refreshToken: Secret("refresh"), microsoftUserId: "ms-\(owner.accountId)",
                        displayName: "M")
                }
                let admin = try await harness.adminHeaders()
                let removed = try await client.execute(
                    uri: "/v1/admin/users/557058:bob/microsoft-connection", method: .delete, headers: admin)
                #expect(removed.status == .noContent, "\(removed.text)")
                #expect(try await harness.sqlite.connections.connection(bob) == nil)
                #expect(try await harness.sqlite.connections.connection(alice) != nil, "only that user's")
                let again = try await client.execute(
                    uri: "/v1/admin/users/557058:bob/microsoft-connection", method: .delete, headers: admin)
                #expect(again.status == .notFound)
                // As the app sends it: the id percent-encoded.
                let encoded = try await client.execute(
                    uri: "/v1/admin/users/557058%3Aalice/microsoft-connection", method: .delete, headers: admin)
                #expect(encoded.status == .noContent, "\(encoded.text)")
                #expect(try await harness.sqlite.connections.connection(alice) == nil)
                let tooLong = try await client.execute(
                    uri: "/v1/admin/users/\(String(repeating: "a", count: 129))/microsoft-connection", method: .delete,
                    headers: admin)
                #expect(tooLong.status == .notFound)
            }
        }
    }
}
