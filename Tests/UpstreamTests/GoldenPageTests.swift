import Atlassian
import Foundation
import Testing

@testable import Microsoft
@testable import Rendering

/// The page a person reads, one value type at a time: each case renders one issue with one column of
/// that type as OneNote XHTML and compares the table with a checked-in file under `Tests/golden/onenote/`. A change
/// to how a value is shown fails here until the file is updated on purpose:
/// `UPDATE_GOLDEN=1 swift test --filter GoldenPageTests`, then review the diff.
@Suite("Golden pages by value type")
struct GoldenPageTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("golden/onenote")

    /// name, kind, the field's JSON.
    static let cases: [(String, ReportColumn.Kind, String)] = [
        ("user", .text, #"{"accountId":"5b10","displayName":"Mia Krystof","active":true}"#),
        ("users", .text, #"[{"displayName":"Mia Krystof"},{"displayName":"Ravi Patel"}]"#),
        ("option", .text, #"{"value":"Gold","id":"10020"}"#),
        ("options", .text, #"[{"value":"iOS"},{"value":"Web"}]"#),
        ("cascading", .text, #"{"value":"Europe","child":{"value":"Berlin"}}"#),
        ("labels", .text, #"["customer","q4"]"#),
        ("versions", .text, #"[{"name":"2.1"},{"name":"2.2"}]"#),
        ("number", .number, "1234567.5"),
        ("date", .date, #""2026-03-29""#),
        ("datetime", .dateTime, #""2026-03-29T01:30:00.000+0000""#),
        (
            "sprints", .text,
            #"[{"id":1,"name":"Sprint 11","state":"closed","boardId":3},{"id":2,"name":"Sprint 12","state":"active","boardId":3},{"id":3,"name":"Sprint 13","state":"future","boardId":3}]"#
        ),
        ("parent", .issue, #"{"id":"1","key":"OPS-1","fields":{"summary":"Billing & invoices"}}"#),
        ("timetracking", .text, #"{"originalEstimate":"1w 2d","remainingEstimate":"3h","timeSpent":"1w 1d 5h"}"#),
        ("estimate", .duration, "106200"),
        ("votes", .text, #"{"votes":4,"hasVoted":false}"#),
        ("url", .url, #""https://status.example.com/incidents?id=7&x=<1>""#),
        (
            "attachments", .count,
            #"[{"filename":"a.png","mimeType":"image/png"},{"filename":"b.pdf","mimeType":"application/pdf"}]"#
        ),
        (
            "issuelinks", .text,
            #"[{"type":{"inward":"is blocked by","outward":"blocks"},"outwardIssue":{"key":"A-1"}},{"type":{"inward":"relates to","outward":"relates to"},"inwardIssue":{"key":"A-3"}}]"#
        ),
        (
            "richtext", .richText,
            #"""
            {"type":"doc","version":1,"content":[
              {"type":"heading","attrs":{"level":1},"content":[{"type":"text","text":"Release & rollout"}]},
              {"type":"paragraph","content":[{"type":"text","text":"Ask "},{"type":"mention","attrs":{"text":"@Mia Krystof"}},
                {"type":"text","text":" — "},{"type":"text","text":"bold","marks":[{"type":"strong"}]},{"type":"text","text":", "},
                {"type":"text","text":"italic","marks":[{"type":"em"}]},{"type":"text","text":", "},
                {"type":"text","text":"code","marks":[{"type":"code"}]},{"type":"text","text":", "},
                {"type":"text","text":"gone","marks":[{"type":"strike"}]},{"type":"hardBreak"},
                {"type":"text","text":"the runbook","marks":[{"type":"link","attrs":{"href":"https://example.com/runbook"}}]},
                {"type":"text","text":" "},{"type":"emoji","attrs":{"shortName":":tada:","text":"🎉"}},
                {"type":"status","attrs":{"text":"In review","color":"blue"}}]},
              {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"first"}]},
                {"type":"orderedList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"nested"}]}]}]}]}]},
              {"type":"codeBlock","content":[{"type":"text","text":"if a < b {\n    run()\n}"}]},
              {"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"Quoted"}]}]},
              {"type":"rule"},
              {"type":"table","content":[{"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Env"}]}]},{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"State"}]}]}]},
                {"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"prod"}]}]},{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"up"}]}]}]}]}]}
            """#
        ),
        (
            "richtext-hostile", .richText,
            #"""
            {"type":"doc","version":1,"content":[
              {"type":"paragraph","content":[{"type":"text","text":"</td></tr></table><script>alert(1)</script>","marks":[{"type":"link","attrs":{"href":"javascript:alert(1)"}}]},
                {"type":"text","text":" \u0001\u0008 control"}]},
              {"type":"unknownThing","content":[{"type":"text","text":"<b onclick=x>still text</b>"}]}]}
            """#
        ),
    ]

    static func table(kind: ReportColumn.Kind, json: String) throws -> String {
        let value = try JSONDecoder().decode(JiraValue.self, from: Data(json.utf8))
        let document = ReportDocument(
            reportName: "Golden", jql: "project = OPS", columns: ["key", "customfield_10001"],
            catalogue: ["customfield_10001": ReportColumn(id: "customfield_10001", label: "Field", kind: kind)],
            issues: [JiraIssue(id: "10007", key: "OPS-7", fields: ["customfield_10001": value])],
            runAt: Date(timeIntervalSince1970: 1_774_750_000), timeZone: TimeZone(identifier: "Europe/Berlin")!,
            siteURL: URL(string: "https://example.atlassian.net"), layout: PageLayout(summary: false))
        return OneNotePageRenderer().render(document).firstPart
    }

    @Test(arguments: cases.map(\.0))
    func theTableOfEachValueTypeIsTheCheckedInOne(_ name: String) throws {
        let (_, kind, json) = try #require(Self.cases.first { $0.0 == name })
        let rendered = try Self.table(kind: kind, json: json) + "\n"
        let file = Self.directory.appendingPathComponent("\(name).xhtml")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try rendered.write(to: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(rendered == expected, "Tests/golden/onenote/\(name).xhtml")
    }
}
