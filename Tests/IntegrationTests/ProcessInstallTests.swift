import Foundation
import ReportsTesting
import Testing

/// What an independent stand-in for the clouds found: in the first minute after an install, the API
/// skipped the first user call's installation write (it had written the install event's a moment
/// before), and that call was the first to carry the site's URL. A report created and run at once
/// rendered every issue key without a link.
@Suite("The first minute after an install (real processes)", .serialized)
struct ProcessInstallTests {
    @Test func aReportRunRightAfterTheInstallLinksEveryIssueKey() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        try stack.startWorker("w-a")
        // The trigger (no site URL), then at once the user's connect, create and Run now (with one).
        #expect(try await stack.installAndConnect())
        let reportId = try #require(try await stack.createReport())
        let run = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(run["status"] as? String == "succeeded", "\(run)")
        let count = try #require(run["issueCount"] as? Int)
        let html = try #require(try await stack.pages().first?["html"] as? String)
        let linked = html.matches(of: /<a href="https:\/\/sandbox\.atlassian\.net\/browse\/OPS-\d+">OPS-\d+<\/a>/).count
        #expect(count > 0 && linked == count, "\(linked) of \(count) keys are links")
    }
}
