import Atlassian
import Foundation
import Testing

@testable import Rendering

/// Rich text (Atlassian Document Format) as the neutral `RichText`: structure kept, markup never
/// passed through, hostile documents bounded.
@Suite("Atlassian Document Format")
struct AtlassianDocumentTests {
    static func rich(_ content: String, cap: Int = 2_000) throws -> RichText {
        let value = try JSONDecoder().decode(
            JiraValue.self, from: Data(#"{"type":"doc","version":1,"content":\#(content)}"#.utf8))
        return AtlassianDocument.richText(value, cap: cap, continuation: "https://example.atlassian.net/browse/OPS-7")
    }

    @Test func paragraphsHeadingsListsCodeAndQuotesKeepTheirShape() throws {
        let text = try Self.rich(
            #"""
            [{"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Steps"}]},
             {"type":"paragraph","content":[{"type":"text","text":"Open "},{"type":"text","text":"Settings","marks":[{"type":"strong"}]},
               {"type":"hardBreak"},{"type":"text","text":"docs","marks":[{"type":"link","attrs":{"href":"https://example.com/d"}}]}]},
             {"type":"orderedList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"one"}]},
               {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"inner"}]}]}]}]}]},
             {"type":"codeBlock","attrs":{"language":"swift"},"content":[{"type":"text","text":"let a = 1\n  <b>"}]},
             {"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"quoted"}]}]},
             {"type":"rule"}]
            """#)
        #expect(
            text.blocks == [
                .heading(level: 2, [.text("Steps", [])]),
                .paragraph([
                    .text("Open ", []), .text("Settings", .bold), .lineBreak,
                    .link("docs", url: "https://example.com/d"),
                ]),
                .list(
                    ordered: true,
                    items: [
                        [
                            .paragraph([.text("one", [])]),
                            .list(ordered: false, items: [[.paragraph([.text("inner", [])])]]),
                        ]
                    ]
                ),
                .code("let a = 1\n  <b>"),
                .quote([.paragraph([.text("quoted", [])])]),
                .rule,
            ])
        #expect(text.continuation == nil)
    }

    @Test func mentionsEmojiStatusesDatesAndCardsReadAsText() throws {
        let text = try Self.rich(
            #"""
            [{"type":"paragraph","content":[
              {"type":"mention","attrs":{"id":"5b10","text":"@Mia Krystof"}},{"type":"text","text":" "},
              {"type":"emoji","attrs":{"shortName":":tada:","text":"🎉"}},
              {"type":"status","attrs":{"text":"In review","color":"blue"}},
              {"type":"date","attrs":{"timestamp":"1774742400000"}},
              {"type":"inlineCard","attrs":{"url":"https://example.atlassian.net/browse/OPS-1"}}]}]
            """#)
        #expect(
            text.blocks == [
                .paragraph([
                    .text("@Mia Krystof", []), .text(" ", []), .text("🎉", []), .lozenge("In review", colour: "blue"),
                    .text("2026-03-29", []),
                    .link(
                        "https://example.atlassian.net/browse/OPS-1", url: "https://example.atlassian.net/browse/OPS-1"),
                ])
            ])
    }

    @Test func tablesFlattenToOneLinePerRow() throws {
        let cell = { (type: String, text: String) in
            #"{"type":"\#(type)","content":[{"type":"paragraph","content":[{"type":"text","text":"\#(text)"}]}]}"#
        }
        let text = try Self.rich(
            #"[{"type":"table","content":[{"type":"tableRow","content":[\#(cell("tableHeader", "Env")),\#(cell("tableHeader", "State"))]},{"type":"tableRow","content":[\#(cell("tableCell", "prod")),\#(cell("tableCell", "up"))]}]}]"#
        )
        #expect(text.blocks == [.paragraph([.text("Env | State", .bold)]), .paragraph([.text("prod | up", [])])])
    }

    @Test func aTaskItemsTextCountsOnceAgainstTheCap() throws {
        // 60 of 100 characters: kept whole, with its box, and nothing is cut.
        let words = String(repeating: "x", count: 60)
        let text = try Self.rich(
            #"[{"type":"taskList","content":[{"type":"taskItem","attrs":{"state":"DONE"},"content":[{"type":"text","text":"\#(words)"}]}]}]"#,
            cap: 100)
        #expect(text.blocks == [.list(ordered: false, items: [[.paragraph([.text("☑ ", []), .text(words, [])])]])])
        #expect(text.continuation == nil)
    }

    @Test func hostileDocumentsAreBoundedAndCarryNoMarkupOrScriptLinks() throws {
        // A link to javascript: is text; markup in text is text.
        let script = try Self.rich(
            #"[{"type":"paragraph","content":[{"type":"text","text":"<img src=x onerror=alert(1)>","marks":[{"type":"link","attrs":{"href":"javascript:alert(1)"}}]}]}]"#
        )
        #expect(script.blocks == [.paragraph([.text("<img src=x onerror=alert(1)>", [])])])
        // Nesting thousands deep does not exhaust the stack; the text survives.
        var nested = JiraValue.object([
            "type": .string("paragraph"),
            "content": .array([.object(["type": .string("text"), "text": .string("deep")])]),
        ])
        for _ in 0..<2_000 { nested = .object(["type": .string("blockquote"), "content": .array([nested])]) }
        let deep = AtlassianDocument.richText(
            .object(["type": .string("doc"), "content": .array([nested])]), cap: 2_000, continuation: nil)
        #expect(deep.plainText == "deep")
        // A long text stops at the cap, with the rest in Jira.
        let long = String(repeating: "word ", count: 2_000)
        let capped = try Self.rich(#"[{"type":"paragraph","content":[{"type":"text","text":"\#(long)"}]}]"#, cap: 100)
        #expect(capped.plainText.count == 101 && capped.plainText.hasSuffix("…"))
        #expect(capped.continuation == "https://example.atlassian.net/browse/OPS-7")
        // Unknown nodes give their text; odd attribute types give nothing, and nothing fails.
        let odd = try Self.rich(
            #"[{"type":"futureBlock","content":[{"type":"text","text":"kept"}]},{"type":"heading","attrs":{"level":"x"}},{"type":"status","attrs":{"text":7}},{"type":42}]"#
        )
        #expect(odd.plainText.contains("kept"))
    }
}
