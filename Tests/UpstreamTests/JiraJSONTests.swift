import Foundation
import Testing

@testable import Atlassian

/// The reader of Jira's answers: the same values as `JSONDecoder` for everything valid, a refusal for
/// everything RFC 8259 does not allow, and no deep recursion or quadratic work on hostile input.
@Suite("Jira's JSON, read strictly")
struct JiraJSONTests {
    func parse(_ text: String) -> JiraValue? { try? JiraJSON.parse(Data(text.utf8)) }

    @Test func readsWhatJSONDecoderReads() throws {
        let text = #"""
             {"n": 1, "z": -0.0, "t": true, "f": false, "x": 2.5E+3, "neg": -7, "none": null, "e": "",
              "s": "caf\u00e9 \ud83c\udf89 \"q\" \\ \/ \b\f\n\r\t", "raw": "naïve ✓", "list": [1, "a", [true], {"k": null}, []],
              "o": {"displayName": "Mia", "x": {}}, "dup": 1, "dup": 2}
            """#
        let read = try #require(parse(text))
        #expect(read == (try JSONDecoder().decode(JiraValue.self, from: Data(text.utf8))))
        #expect(read["s"] == .string("café 🎉 \"q\" \\ / \u{08}\u{0C}\n\r\t") && read["raw"] == .string("naïve ✓"))
        #expect(read["dup"] == .number(1), "a repeated member keeps its first value, as JSONDecoder's")
        #expect(parse(" 12 ") == .number(12) && parse("\"x\"") == .string("x") && parse("null") == .null)
    }

    @Test func randomValuesReadAsJSONDecoderReadsThem() throws {
        var random = CellMarkupPropertyTests.Generator(state: 20_261_207)
        for round in 0..<300 {
            let value = CellMarkupPropertyTests.value(&random, depth: 0)
            let data = try JSONSerialization.data(withJSONObject: ["v": JiraValueDecodingTests.json(value)])
            #expect(
                try JiraJSON.parse(data) == (try JSONDecoder().decode(JiraValue.self, from: data)), "round \(round)")
        }
    }

    @Test func refusesWhatTheRFCDoesNotAllow() {
        let refused = [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[-]", "[NaN]",
            "[1e999]", "[tru]", "[nul]", "\"a", "\"\u{01}\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
            "\"\\ud800\\u0041\"", "{\"a\" 1}", "{1:2}", "[1 2]", "1 2", "[1]x", "{\"a\":}",
        ]
        for text in refused { #expect(parse(text) == nil, "\(text.debugDescription) is not JSON") }
        #expect((try? JiraJSON.parse(Data([0x22, 0xC3, 0x28, 0x22]))) == nil, "a string must be UTF-8")
        #expect((try? JiraJSON.parse(Data([0x22, 0x5C, 0x6E, 0xFF, 0x22]))) == nil, "an escaped one too")
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(parse(deep) == nil)
        let fine = String(repeating: "[", count: JiraJSON.maxDepth) + String(repeating: "]", count: JiraJSON.maxDepth)
        #expect(parse(fine) != nil)
    }

    @Test func manyMembersWithOneNameTakeLinearTime() throws {
        let members = (0..<200_000).map { "\"k\(($0 % 2 == 0) ? "" : String($0))\":\($0)" }.joined(separator: ",")
        let clock = ContinuousClock()
        var read: JiraValue?
        let elapsed = clock.measure { read = parse("{\(members)}") }
        guard case .object(let object)? = read else {
            Issue.record("not read")
            return
        }
        #expect(object.count == 100_001 && object["k"] == .number(0))
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }

    @Test func aSearchPageReadsAsTheDecodablePageDid() throws {
        let body = Data(
            #"""
            {"issues": [{"id": "10001", "key": "OPS-1", "fields": {"summary": "A", "status": {"name": "Done"}}},
                        {"id": "10002", "fields": null}], "nextPageToken": "t2", "isLast": false}
            """#.utf8)
        let page = try #require(JiraSearchPage(body))
        #expect(
            page.issues == [
                JiraIssue(
                    id: "10001", key: "OPS-1",
                    fields: ["summary": .string("A"), "status": .object(["name": .string("Done")])]),
                JiraIssue(id: "10002", key: "10002", fields: [:]),
            ])
        #expect(page.nextPageToken == "t2" && page.isLast == false)
        for bad in [#"{"issues": {}}"#, #"{"issues": [{"id": 1}]}"#, #"{"issues": [], "isLast": "no"}"#, "[]", "{"] {
            #expect(JiraSearchPage(Data(bad.utf8)) == nil, "\(bad)")
        }
        #expect(JiraSearchPage(Data(#"{"issues": []}"#.utf8))?.isLast == nil)
    }
}
