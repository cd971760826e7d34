import Foundation
import ReportsTesting
import Testing

/// The admin page's routes through real processes: `enqueuer serve` against the sandbox's Forge and
/// Jira. Only a call from the admin page module by an account Jira says administers the site gets in;
/// an ordinary user's FIT is refused, from the app's page and from the admin page alike, and so is an
/// administrator whose permission Jira has since revoked.
@Suite("The admin page's routes (real processes)", .serialized)
struct ProcessAdminTests {
    @Test func onlyAJiraAdministratorOnTheAdminPageGetsIn() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        #expect(try await stack.installAndConnect())
        let reportId = try #require(try await stack.createReport())
        let site = "\(stack.apiBase)/v1/admin/site"

        let user = try await ProcessStack.call("GET", site, headers: try await stack.headers(module: "admin"))
        #expect(user.status == 403 && user.errorCode == "jira_admin_required", "\(user.text)")
        let fromThePage = try await ProcessStack.call(
            "GET", site, headers: try await stack.headers(account: "sandbox-admin"))
        #expect(fromThePage.status == 403 && fromThePage.errorCode == "admin_page_only", "\(fromThePage.text)")
        let pause = try await ProcessStack.call(
            "PUT", "\(site)/schedules", headers: try await stack.headers(module: "admin"), body: #"{"paused":true}"#)
        #expect(pause.status == 403, "an ordinary user cannot pause the site: \(pause.text)")

        let admin = try await ProcessStack.call(
            "GET", site, headers: try await stack.headers(account: "sandbox-admin", module: "admin"))
        #expect(admin.status == 200, "\(admin.text)")
        let users = try #require(admin.json["users"] as? [[String: Any]])
        let owner = try #require(users.first { $0["accountId"] as? String == "sandbox-user-1" })
        #expect(owner["displayName"] as? String == "Sandbox User One", "names come from Jira")
        #expect(owner["microsoft"] as? String == "active")
        let reports = try #require(owner["reports"] as? [[String: Any]])
        #expect(reports.map { $0["id"] as? String } == [reportId])
        #expect(!admin.text.contains("project ="), "no report's query is shown")

        // Jira revokes the permission: the next call is refused, whatever the page.
        _ = try await ProcessStack.call(
            "POST", "\(stack.sandboxBase)/sandbox/site-admins", body: #"{"accountId":"sandbox-admin","admin":false}"#)
        let revoked = try await ProcessStack.call(
            "GET", site, headers: try await stack.headers(account: "sandbox-admin", module: "admin"))
        #expect(revoked.status == 403 && revoked.errorCode == "jira_admin_required", "\(revoked.text)")
        #expect(stack.secrets.allSatisfy { !stack.logs.contains($0) }, "no token in any log")
    }
}
