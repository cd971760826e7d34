import Foundation
import ReportsTesting
import TestSupport
import Testing

/// The page a team reads, through real processes: a report grouped by status with a summary and a
/// Notes column; people type notes into two rows in OneNote (the sandbox, as a person would); the
/// page is refreshed after an issue changed, after a noted issue left the result, and after its worker
/// was killed in the middle of an update — and no note is lost.
@Suite("Notes that survive every refresh (real processes)", .serialized)
struct ProcessNotesTests {
    static let layout = #"{"groupBy":"status","notesColumn":true}"#

    static func html(_ stack: ProcessStack) async throws -> String {
        try #require(try await stack.pages().first?["html"] as? String)
    }

    /// The note in the Notes cell of `key`'s row (the row's last cell), if the page shows one.
    static func note(of key: String, in html: String) -> String? {
        guard let start = html.range(of: ">\(key)</a></td>") ?? html.range(of: "<td>\(key)</td>") else { return nil }
        let row = html[start.upperBound...]
        guard let end = row.range(of: "</tr>") else { return nil }
        let cells = row[..<end.lowerBound].components(separatedBy: "<td>")
        return cells.last.map { $0.replacingOccurrences(of: "</td>", with: "") }
    }

    /// How many PATCHes OneNote (the sandbox) has received.
    static func patches(_ stack: ProcessStack) async throws -> Int {
        try await ProcessStack.call("GET", "\(stack.sandboxBase)/sandbox/counters").json["onenote-patch"] as? Int ?? 0
    }

    @Test func notesStayBesideTheirIssuesThroughRefreshesAChangeAnIssueThatLeftAndAKilledWorker() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        try stack.startWorker("w-a")
        #expect(try await stack.installAndConnect())
        let reportId = try #require(
            try await stack.createReport(name: "Standup", columns: ["summary", "status"], layout: Self.layout))
        let first = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(first["status"] as? String == "succeeded", "\(first)")
        let pageId = try #require(try await stack.pages().first?["id"] as? String)
        var html = try await Self.html(stack)
        #expect(html.contains("<b>Key</b>") && html.contains("<b>Notes</b>") && html.contains("<h2>"))
        #expect(html.contains("<b>First update</b>"), "the first run says it is the first")

        #expect(try await stack.typeIntoPage(pageId, row: "OPS-2", text: "Waiting for legal"))
        #expect(try await stack.typeIntoPage(pageId, row: "OPS-5", text: "Mia pairs with Ravi"))
        try await stack.editIssue("OPS-3", summary: "Renamed for the meeting")
        let second = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(second["status"] as? String == "succeeded", "\(second)")
        html = try await Self.html(stack)
        #expect(
            html.contains(#"<td style="background-color:#FFF0B3">Renamed for the meeting</td>"#),
            "the changed cell is highlighted")
        #expect(html.contains("no issue came or went, no status moved"), "the changes block names exactly the edit")
        #expect(Self.note(of: "OPS-2", in: html) == "<p>Waiting for legal</p>")
        #expect(Self.note(of: "OPS-5", in: html) == "<p>Mia pairs with Ravi</p>")

        // OPS-5 leaves the result (the report leaves out what is done, and OPS-5 is done now): its note
        // goes to the bottom, under its own heading.
        let headers = try await stack.headers()
        let changed = try await ProcessStack.call(
            "PUT", "\(stack.apiBase)/v1/reports/\(reportId)", headers: headers,
            body:
                #"{"name":"Standup","jql":"project = OPS AND status != Done ORDER BY key","columns":["summary","status"],"sectionId":"1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B","layout":\#(Self.layout)}"#
        )
        #expect(changed.status == 200, "\(changed.text)")
        _ = try await ProcessStack.call(
            "POST", "\(stack.sandboxBase)/sandbox/issues/OPS-5", body: #"{"status":"Done"}"#)
        let third = try await stack.waitForRun(try #require(try await stack.runNow(reportId)["id"] as? String))
        #expect(third["status"] as? String == "succeeded", "\(third)")
        html = try await Self.html(stack)
        #expect(html.contains("Notes on issues no longer in this report"))
        // The done issues (seeded: OPS-3, 7, 11, 15, 19) and OPS-5, done now, left the result; nothing else.
        #expect(html.contains("0 new · 6 no longer in this report · 0 moved"))
        #expect(html.contains("<li><b>No longer in this report:</b> OPS-3, OPS-5, OPS-7, OPS-11, OPS-15, OPS-19</li>"))
        #expect(html.contains("<tr><td>OPS-5</td><td><p>Mia pairs with Ravi</p></td></tr>"))
        #expect(Self.note(of: "OPS-2", in: html) == "<p>Waiting for legal</p>")

        // The next update's write lands in OneNote but its worker is killed before it hears: the
        // retry reads the page again and writes every note back.
        try await stack.fault(
            #"{"route":"/v1.0/me/onenote/pages/*/content","method":"PATCH","holdResponseMs":8000,"count":1}"#)
        let patchesBefore = try await Self.patches(stack)
        let fourthId = try #require(try await stack.runNow(reportId)["id"] as? String)
        let victim = try #require(try await stack.holderOfRunningJob())
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                try await Self.patches(stack) > patchesBefore
            }, "the update's PATCH reached OneNote")
        victim.signal(SIGKILL)
        try stack.startWorker("w-b")
        let fourth = try await stack.waitForRun(fourthId, timeout: .seconds(90))
        #expect(fourth["status"] as? String == "succeeded", "\(fourth)")
        html = try await Self.html(stack)
        #expect(Self.note(of: "OPS-2", in: html) == "<p>Waiting for legal</p>")
        #expect(html.contains("<tr><td>OPS-5</td><td><p>Mia pairs with Ravi</p></td></tr>"))
        #expect(try await stack.pages().count == 1, "still one page")
        #expect(!stack.logs.contains("Waiting for legal"), "notes are page content: never logged")
    }
}
