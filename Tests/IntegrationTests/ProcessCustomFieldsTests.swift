import Foundation
import ReportsTesting
import TestSupport
import Testing

/// Custom fields end to end through real processes: a report naming custom fields of every kind is
/// headed by the site's names for them and shows each value as Jira does; a field hidden from the
/// report's owner reads "(unavailable)" and the run still succeeds.
@Suite("Custom fields end to end (real processes)", .serialized)
struct ProcessCustomFieldsTests {
    @Test func aReportOfCustomFieldsShowsTheirNamesAndValues() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        try stack.startWorker("w-a")
        let columns = [
            "key", "customfield_10016", "customfield_10020", "customfield_10023", "customfield_10029",
            "customfield_10034", "customfield_10042",
        ]
        // User 2 owns the report: the budget code field is not theirs to see.
        #expect(try await stack.installAndConnect(account: "sandbox-user-2"))
        let reportId = try #require(
            try await stack.createReport(name: "Custom", account: "sandbox-user-2", columns: columns))
        let run = try await stack.waitForRun(
            try #require(try await stack.runNow(reportId, account: "sandbox-user-2")["id"] as? String),
            account: "sandbox-user-2")
        #expect(run["status"] as? String == "succeeded", "\(run)")
        let html = try #require(try await stack.pages().first?["html"] as? String)
        for header in ["Story points", "Sprint", "Region", "Release notes", "Effort (hours)"] {
            #expect(html.contains("<b>\(header)</b>"), "header \(header)")
        }
        #expect(html.contains("<b>customfield_10042 (unavailable)</b>"))
        #expect(html.contains("Sprint 11 (closed), Sprint 12 (active)"))
        #expect(html.contains("Europe › Berlin") || html.contains("Europe › Lisbon"))
        #expect(html.contains("1\u{202F}234\u{202F}567.5") && html.contains("0.3"))
        #expect(html.contains("IN REVIEW") && html.contains("<ul><li>"), "the release notes are formatted")
        #expect(!html.contains("<script>") && !html.contains("javascript:"), "nothing from Jira became markup")
        #expect(!html.contains("BUD-"), "the hidden field's values are not on the page")
    }
}
