import Atlassian
import Foundation
import Testing

@testable import Microsoft
@testable import Rendering

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Any JSON value, in a column of any kind, gives a well-formed table made only of the elements and
/// attributes the renderer writes: thousands of random values (ADF-shaped ones among them, with
/// hostile text), seeded so a failure repeats.
@Suite("Cell markup for any value")
struct CellMarkupPropertyTests {
    static let elements = Set(["table", "tr", "td", "b", "i", "a", "p"]).union(RichTextMarkup.elements)
    static let attributes = Set(["data-id", "border", "style"]).union(RichTextMarkup.attributes)
    static let words = [
        "</td>", "<script>", "&amp;", "\"", "'", "\u{0}", "\u{1}", "\u{FFFE}", "🎉", "نص", "javascript:alert(1)",
        "https://example.com/?a=<1>", "2026-03-29T01:30:00.000+0000", "2026-03-29", "", "x",
    ]
    static let nodeTypes = [
        "doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote",
        "rule", "table", "tableRow", "tableCell", "tableHeader", "mention", "emoji", "status", "date", "hardBreak",
        "inlineCard", "panel", "expand", "taskList", "taskItem", "mediaSingle", "unknown",
    ]

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func value(_ random: inout Generator, depth: Int) -> JiraValue {
        let word = words.randomElement(using: &random)!
        switch Int.random(in: 0..<(depth > 5 ? 4 : 8), using: &random) {
        case 0: return .null
        case 1: return .string(word)
        case 2: return .number([0, -1, 2.5, 1e20, 0.1 + 0.2, -0.0, 1e308][Int.random(in: 0..<7, using: &random)])
        case 3: return .bool(Bool.random(using: &random))
        case 4, 5:
            // An ADF-like node.
            var object: [String: JiraValue] = ["type": .string(nodeTypes.randomElement(using: &random)!)]
            if Bool.random(using: &random) { object["text"] = .string(word) }
            if Bool.random(using: &random) {
                object["attrs"] = .object([
                    "level": value(&random, depth: depth + 1), "text": value(&random, depth: depth + 1),
                    "url": .string(word), "href": .string(word), "color": .string(word),
                    "timestamp": value(&random, depth: depth + 1),
                ])
            }
            if Bool.random(using: &random) {
                object["marks"] = .array([
                    .object([
                        "type": .string(["strong", "em", "link", "code"].randomElement(using: &random)!),
                        "attrs": .object(["href": .string(word)]),
                    ])
                ])
            }
            object["content"] = .array(
                (0..<Int.random(in: 0..<4, using: &random)).map { _ in value(&random, depth: depth + 1) })
            return .object(JiraObject(object))
        case 6:
            return .array((0..<Int.random(in: 0..<4, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default:
            let keys = [
                "displayName", "name", "value", "child", "key", "fields", "summary", "state", "boardId", "votes",
                "percent", "filename", "mimeType", "type", "inward", "outwardIssue",
            ]
            var object: [String: JiraValue] = [:]
            for _ in 0..<Int.random(in: 1..<4, using: &random) {
                object[keys.randomElement(using: &random)!] = value(&random, depth: depth + 1)
            }
            return .object(JiraObject(object))
        }
    }

    final class Collector: NSObject, XMLParserDelegate {
        var elements: Set<String> = []
        var attributes: Set<String> = []
        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.insert(elementName)
            self.attributes.formUnion(attributes.keys)
        }
    }

    @Test func anyValueOfAnyKindGivesWellFormedAllowedMarkup() {
        var random = Generator(state: 20_261_206)
        let kinds: [ReportColumn.Kind] = [
            .key, .status, .dateTime, .date, .number, .duration, .url, .issue, .count, .richText, .text,
        ]
        for round in 0..<3_000 {
            var field = Self.value(&random, depth: 0)
            if round % 3 == 0 { field = .object(["type": .string("doc"), "content": .array([field, field])]) }
            let kind = kinds[round % kinds.count]
            let document = ReportDocument(
                reportName: "p", jql: "j", columns: ["customfield_1"],
                catalogue: ["customfield_1": ReportColumn(id: "customfield_1", label: "F", kind: kind)],
                issues: [JiraIssue(id: "1", key: "OPS-1", fields: ["customfield_1": field])],
                runAt: Date(timeIntervalSince1970: 1_800_000_000), timeZone: TimeZone(identifier: "Europe/Berlin")!,
                siteURL: URL(string: "https://example.atlassian.net"))
            let table = OneNotePageRenderer().render(document).firstPart
            let collector = Collector()
            let parser = XMLParser(data: Data(table.utf8))
            parser.delegate = collector
            let parsed = parser.parse()
            #expect(parsed, "round \(round), \(kind): \(table.prefix(300))")
            #expect(
                collector.elements.isSubset(of: Self.elements),
                "round \(round): \(collector.elements.subtracting(Self.elements))")
            #expect(
                collector.attributes.isSubset(of: Self.attributes),
                "round \(round): \(collector.attributes.subtracting(Self.attributes))")
            if !parsed { break }
        }
    }

    /// The escaping reads eight bytes at a time where it can: whatever the text, and wherever in a word
    /// a character that must change falls, it writes what the rule says character by character.
    @Test func escapingWritesWhatTheCharacterRuleSaysWhereverTheCharacterFalls() {
        var random = Generator(state: 20_261_207)
        let alphabet: [Unicode.Scalar] = [
            "a", "Z", " ", "&", "<", ">", "\"", "'", "\t", "\n", "\r", "\u{0}", "\u{1F}", "\u{7F}", "é", "\u{F000}",
            "\u{FFFD}", "\u{FFFE}", "\u{FFFF}", "🎉", "\u{EF}", "\u{3C00}",
        ]
        func expected(_ text: String) -> String {
            var output = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "&": output += "&amp;"
                case "<": output += "&lt;"
                case ">": output += "&gt;"
                case "\"": output += "&quot;"
                case "\t", "\n", "\r": output.unicodeScalars.append(scalar)
                case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                    output += "\u{FFFD}"
                default: output.unicodeScalars.append(scalar)
                }
            }
            return output
        }
        for _ in 0..<5_000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<40, using: &random) {
                // Mostly plain letters, so the eight-byte steps are taken and then broken at any place.
                let plain = Int.random(in: 0..<3, using: &random) > 0
                text.append(plain ? "x" : alphabet.randomElement(using: &random)!)
            }
            var buffer = MarkupBuffer()
            buffer.text(String(text))
            #expect(buffer.string == expected(String(text)), "\(Array(String(text).utf8))")
        }
    }
}
