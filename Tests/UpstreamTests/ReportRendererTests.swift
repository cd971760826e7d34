import Foundation
import Testing

@testable import Atlassian
@testable import Microsoft
@testable import Rendering
@testable import ReportsSupport
@testable import Sandbox

/// The renderer on the sandbox's seeded issues (hostile text included), parsed back as XML.
@Suite("Report renderer")
struct OneNotePageRendererTests {
    static let columns = ["key", "summary", "status", "assignee", "priority", "updated", "labels"]

    /// Issues as Jira's search would return them, from the sandbox's seed data.
    static func issues(_ count: Int = 60) throws -> [JiraIssue] {
        let seed = SeedData(seed: 9, issueCount: count)
        let json = seed.issues.map {
            IssueJSON.issue($0, fields: columns, origin: "https://api.atlassian.com/ex/jira/c")
        }
        return try JSONDecoder().decode([JiraIssue].self, from: Data(JSONText.serialize(json).utf8))
    }

    static func input(_ issues: [JiraIssue], zone: String = "Europe/Berlin", capped: Int? = nil) -> ReportDocument {
        ReportDocument(
            reportName: "Ops & Web <weekly>", jql: "project = OPS AND status != \"Done\" ORDER BY key",
            columns: columns, issues: issues,
            runAt: Date(timeIntervalSince1970: 1_798_000_000), timeZone: TimeZone(identifier: zone)!,
            siteURL: URL(string: "https://example.atlassian.net")!, cappedAt: capped, layout: PageLayout(summary: false)
        )
    }

    /// All text under an element, concatenated.
    static func text(_ node: XNode) -> String {
        switch node {
        case .text(let text): text
        case .element(let element): element.children.map(text).joined()
        }
    }

    static func elements(_ element: XElement, named name: String) -> [XElement] {
        var found: [XElement] = element.name == name ? [element] : []
        for case .element(let child) in element.children { found += elements(child, named: name) }
        return found
    }

    @Test func thePageIsWellFormedAndEveryHostileValueRoundTrips() throws {
        let issues = try Self.issues()
        let output = OneNotePageRenderer().render(Self.input(issues))
        let document = try XHTML.parse(output.page)
        #expect(
            Self.text(.element(try #require(Self.elements(document, named: "title").first)))
                == "Ops & Web <weekly> – Jira report")
        let part = try #require(Self.elements(document, named: "div").first)
        #expect(part.attribute("data-id") == "jira-report", "the first part, replaced as a whole by a later run")
        let table = try #require(Self.elements(part, named: "table").first)
        #expect(table.attribute("border") == "1")
        #expect(Self.elements(document, named: "th").isEmpty)
        let rows = Self.elements(table, named: "tr")
        #expect(rows.count == issues.count + 1)
        let headerCells = Self.elements(rows[0], named: "td")
        #expect(
            headerCells.map { Self.text(.element($0)) } == [
                "Key", "Summary", "Status", "Assignee", "Priority", "Updated", "Labels",
            ])
        #expect(
            headerCells.allSatisfy {
                $0.attribute("style")?.contains("background-color") == true && !Self.elements($0, named: "b").isEmpty
            })

        for (issue, row) in zip(issues, rows.dropFirst()) {
            let cells = Self.elements(row, named: "td")
            #expect(cells.count == Self.columns.count)
            #expect(
                Self.text(.element(cells[1])) == issue.fields["summary"]?.string,
                "the summary survives escaping exactly")
            let link = try #require(Self.elements(cells[0], named: "a").first)
            #expect(
                link.attribute("href") == "https://example.atlassian.net/browse/\(issue.key)"
                    && Self.text(.element(link)) == issue.key)
            let category = issue.fields["status"]?["statusCategory"]?["key"]?.string ?? ""
            #expect(cells[2].attribute("style") == "background-color:\(OneNotePageRenderer.statusColour(category))")
            if issue.fields["assignee"] == .null {
                #expect(Self.text(.element(cells[3])).isEmpty, "a null assignee is blank")
            }
        }
        #expect(!output.page.contains("<script>") && output.page.contains("&lt;script&gt;"))
        #expect(output.page.contains("🎉") && output.page.contains("نص عربي"))
        #expect(output.appendedParts.isEmpty)
        let header = try #require(
            Self.elements(document, named: "p").first { $0.attribute("data-id") == "report-header" })
        #expect(
            Self.text(.element(header)).contains("\(issues.count) issues")
                && Self.text(.element(header)).contains("JQL: project = OPS AND status != \"Done\""))
    }

    @Test func datesFollowTheReportsTimeZoneAndTheCapIsReported() throws {
        let issue = JiraIssue(
            id: "1", key: "OPS-1",
            fields: [
                "summary": .string("x\u{01}y"), "updated": .string("2026-03-29T00:30:00.000+0000"),
                "labels": .array([.string("a"), .string("b")]),
                "status": .object(["name": .string("Done"), "statusCategory": .object(["key": .string("done")])]),
                "assignee": .null, "priority": .object(["name": .string("High")]),
            ])
        let berlin = OneNotePageRenderer().render(Self.input([issue], capped: 5000))
        #expect(berlin.page.contains("<td>2026-03-29 01:30</td>"), "CET before the 01:00Z change")
        #expect(berlin.page.contains("(capped at 5000)"))
        #expect(berlin.page.contains("x\u{FFFD}y"), "a control character XML cannot carry is replaced")
        #expect(berlin.page.contains("<td>a, b</td>") && berlin.page.contains("<td>High</td>"))
        #expect(berlin.page.contains("content=\"2026-12-23T05:26:40+01:00\""), "created time with the zone's offset")
        let newYork = OneNotePageRenderer().render(Self.input([issue], zone: "America/New_York"))
        #expect(newYork.page.contains("<td>2026-03-28 20:30</td>"))
        _ = try XHTML.parse(berlin.page)
    }

    @Test func aLargeReportIsSplitIntoPartsUnderTheLimit() throws {
        var issues: [JiraIssue] = []
        for index in 0..<5000 {
            issues.append(
                JiraIssue(
                    id: "\(index)", key: "OPS-\(index)",
                    fields: [
                        "summary": .string("\(index) <&> " + String(repeating: "wide text ", count: 100)),
                        "status": .object([
                            "name": .string("To Do"), "statusCategory": .object(["key": .string("new")]),
                        ]),
                    ]))
        }
        let limit = 400_000
        let output = OneNotePageRenderer(maxPartBytes: limit).render(Self.input(issues))
        #expect(!output.appendedParts.isEmpty)
        #expect(output.page.utf8.count <= limit && output.appendedParts.allSatisfy { $0.utf8.count <= limit })
        var keys: [String] = []
        for (index, table) in ([output.firstPart] + output.appendedParts).enumerated() {
            let parsed = try XHTML.parse(table)
            #expect(parsed.attribute("data-id") == (index == 0 ? "jira-report" : "jira-report-\(index + 1)"))
            let rows = Self.elements(parsed, named: "tr").dropFirst()
            keys += rows.compactMap { Self.elements($0, named: "a").first.map { Self.text(.element($0)) } }
        }
        #expect(keys == issues.map(\.key), "every issue once, in order")
        _ = try XHTML.parse(output.page)
    }

    /// The rows are written on every core in slices; read back in order they are the rows written one
    /// by one, and the page holds them in that order.
    @Test func rowsWrittenInSlicesAreTheRowsWrittenOneByOne() throws {
        let issues = try Self.issues(2_000)
        let document = Self.input(issues)
        var notes = PageNotes()
        notes.add("<p>kept</p>", for: issues[1_234].key)
        var expected: [String] = []
        for section in document.sections {
            for row in section.rows.indices {
                var markup = MarkupBuffer()
                OneNotePageRenderer.writeRow(row, of: section, notesColumn: true, notes: notes, into: &markup)
                expected.append(markup.string)
            }
        }
        var withNotes = document
        withNotes.notesColumn = true
        let rows = RenderedRows(withNotes, notes: notes)
        #expect(rows.slices.count > 1 || ProcessInfo.processInfo.activeProcessorCount == 1)
        #expect(rows.map(String.init) == expected)
        #expect(expected.count == 2_000 && expected[1_234].contains("<p>kept</p>"))
        let page = OneNotePageRenderer().render(withNotes, notes: notes).page
        #expect(page.contains(expected.joined()), "the rows, in order, in one table")
    }
}
