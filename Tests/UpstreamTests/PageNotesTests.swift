import Atlassian
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import Transport

@testable import Microsoft
@testable import Rendering
@testable import Reports
@testable import ReportsSupport
@testable import Security

/// Notes people type into the page's "Notes" column survive every refresh: read back from the page by
/// their row's issue key, written back beside the same issue, and kept at the bottom when the issue
/// left the report.
@Suite("Notes that survive a refresh")
struct PageNotesTests {
    static func document(_ keys: [String], notes: Bool = true) -> ReportDocument {
        ReportDocument(
            reportName: "Weekly", jql: "project = OPS", columns: ["summary"],
            issues: keys.map { JiraIssue(id: $0, key: $0, fields: ["summary": .string("Summary of \($0)")]) },
            runAt: Date(timeIntervalSince1970: 1_774_750_000), timeZone: TimeZone(identifier: "UTC")!,
            siteURL: URL(string: "https://example.atlassian.net"),
            layout: PageLayout(summary: false, notesColumn: notes))
    }

    @Test func aNoteIsReadByItsRowsKeyAndWrittenBackBesideTheSameIssue() throws {
        let page = OneNotePageRenderer().render(Self.document(["OPS-1", "OPS-2"])).page
        #expect(page.contains("<b>Key</b>") && page.contains("<b>Notes</b>"), "the key leads, the notes close")
        // As OneNote returns the page after a person typed into OPS-2's notes cell.
        let typed = page.replacingOccurrences(
            of: "Summary of OPS-2</td><td></td>",
            with:
                #"Summary of OPS-2</td><td><p style="margin-top:0pt">Ask <b>Mia</b> &amp; Ravi</p><p data-tag="to-do">Call the vendor</p></td>"#
        )
        let notes = PageNotes.read(typed)
        #expect(
            notes.byKey == [
                "OPS-2":
                    #"<p style="margin-top:0pt">Ask <b>Mia</b> &amp; Ravi</p><p data-tag="to-do">Call the vendor</p>"#
            ])
        let again = OneNotePageRenderer().render(Self.document(["OPS-2", "OPS-3"]), notes: notes)
        #expect(again.firstPart.contains(#"Summary of OPS-2</td><td><p style="margin-top:0pt">Ask <b>Mia</b>"#))
        #expect(!again.firstPart.contains(OneNotePageRenderer.orphanNotesHeading), "no issue left with a note")
    }

    @Test func theNotesOfIssuesThatLeftGoToTheBottomAndComeBackWithTheirIssue() throws {
        var notes = PageNotes()
        notes.add("<p>Blocked on legal</p>", for: "OPS-1")
        let without = OneNotePageRenderer().render(Self.document(["OPS-2"]), notes: notes).firstPart
        #expect(without.contains("<h2>Notes on issues no longer in this report</h2>"))
        #expect(without.contains("<tr><td>OPS-1</td><td><p>Blocked on legal</p></td></tr>"))
        // The bottom table is read back like the others: the note returns to its row with its issue.
        let reread = PageNotes.read("<html><body><div>\(without)</div></body></html>")
        #expect(reread.byKey == ["OPS-1": "<p>Blocked on legal</p>"])
        let back = OneNotePageRenderer().render(Self.document(["OPS-1", "OPS-2"]), notes: reread).firstPart
        #expect(back.contains("Summary of OPS-1</td><td><p>Blocked on legal</p></td>"))
        #expect(!back.contains("Notes on issues no longer"))
    }

    @Test func aNoteKeepsOnlyTextAndItsFormattingAndCannotBreakThePage() throws {
        let hostile = """
            <html><body><div data-id="jira-report"><table border="1"><tr><td><b>Key</b></td><td><b>Notes</b></td></tr>
            <tr><td>\u{2003}\u{21B3} <a href="https://x/OPS-5">OPS-5</a></td><td><script>alert(1)</script>\
            <p onclick="x()" style="background:url(javascript:x)">Plan &nbsp;</p><a href="javascript:alert(1)">link</a>\
            <img src="https://graph.microsoft.com/x"/><div data-id="jira-report-2">inner</div><b>open</td></tr>
            <tr><td>OPS-6</td><td> <p> </p> </td></tr>
            <tr><td>not a key</td><td><p>orphan text</p></td></tr></table></div></body></html>
            """
        let notes = PageNotes.read(hostile)
        #expect(Set(notes.byKey.keys) == ["OPS-5"], "an empty cell is no note; a row without a key is not a row")
        let note = try #require(notes.byKey["OPS-5"])
        #expect(note == "<p>Plan \u{00A0}</p><a>link</a>inner<b>open</b>", "\(note)")
        #expect(!note.contains("script") && !note.contains("onclick") && !note.contains("url("))
    }

    /// Character references decode as an HTML reader does; an `&` that starts none stays, even beside
    /// text of several bytes a character.
    @Test func referencesInTheReadPageDecodeAndAStrayAmpersandStays() {
        let cases: [(String, String)] = [
            ("Mia &amp; Ravi", "Mia & Ravi"), ("&lt;b&gt; &quot;x&quot; &apos;y&apos;", "<b> \"x\" 'y'"),
            ("a&nbsp;b", "a\u{00A0}b"), ("&#233;t&#xE9; &#X1F389;", "été 🎉"), ("R&D", "R&D"),
            ("&unknown; &amp", "&unknown; &amp"), ("&#xZZ; &#; &#1114112;", "&#xZZ; &#; &#1114112;"),
            ("&ééééééé;", "&ééééééé;"), ("&ampamp;", "&ampamp;"), ("no references", "no references"),
            ("&&amp;&", "&&&"),
        ]
        for (text, decoded) in cases { #expect(PageMarkup.decode(text) == decoded, "\(text)") }
    }

    @Test func aRowInTwoPartsKeepsBothNotes() {
        var notes = PageNotes()
        notes.add("<p>first</p>", for: "OPS-1")
        notes.add("<p>second</p>", for: "OPS-1")
        notes.add("<p>first</p>", for: "OPS-1")
        #expect(notes.byKey["OPS-1"] == "<p>first</p><p>second</p>")
    }

    /// The writer reads the page before it updates it, so what a person typed in OneNote (the sandbox's
    /// control route, as a person would) is on the page after the refresh, beside the same issue; an
    /// issue that left the report keeps its note at the bottom.
    @Test func notesTypedInOneNoteSurviveTheWritersRefresh() async throws {
        try await OneNoteWriterTests.withSandbox { base, token, client in
            let writer = OneNoteWriter(graphBaseURL: base, transport: CurlTransport(policy: .sandbox))
            let renderer = OneNotePageRenderer()
            let first = try await writer.write(
                .document(Self.document(["OPS-1", "OPS-2", "OPS-3"]), renderer: renderer),
                sectionId: OneNoteWriterTests.section, reportId: nil, page: ReportPage(), accessToken: token,
                hooks: OneNoteWriter.WriteHooks())
            for (row, text) in [("OPS-1", "Leaving soon"), ("OPS-2", "Ask Mia <today>")] {
                let typed = try await client.execute(
                    uri: "/sandbox/pages/\(first.id)/cells", method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: JSONText.serialize(["row": row, "column": "Notes", "text": text])))
                #expect(typed.status == .ok)
            }
            _ = try await writer.write(
                .document(Self.document(["OPS-2", "OPS-3", "OPS-4"]), renderer: renderer),
                sectionId: OneNoteWriterTests.section, reportId: nil, page: ReportPage(id: first.id),
                accessToken: token, hooks: OneNoteWriter.WriteHooks())
            let html = try #require(try await OneNoteWriterTests.pages(client).first?["html"] as? String)
            #expect(html.contains("Summary of OPS-2</td><td><p>Ask Mia &lt;today&gt;</p></td>"), "\(html)")
            #expect(html.contains("Notes on issues no longer in this report"))
            #expect(html.contains("<tr><td>OPS-1</td><td><p>Leaving soon</p></td></tr>"))
            #expect(html.contains("Summary of OPS-4</td><td></td>"))
        }
    }
}
