import Atlassian
import Foundation
import Testing

/// A field's value decodes as Jira sent it, whatever order `JiraValue` tries the JSON types in: a 1
/// stays a number, `true` a boolean, an object keeps its members; random values survive the trip.
@Suite("Jira values from JSON")
struct JiraValueDecodingTests {
    @Test func everyJSONTypeDecodesAsSent() throws {
        let text = #"""
            {"n": 1, "z": 0, "t": true, "f": false, "x": 2.5e3, "neg": -7, "none": null,
             "s": "caf\u00e9 \ud83c\udf89", "list": [1, "a", [true], {"k": null}], "o": {"displayName": "Mia"}}
            """#
        let value = try JSONDecoder().decode(JiraValue.self, from: Data(text.utf8))
        #expect(value["n"] == .number(1) && value["z"] == .number(0), "1 and 0 stay numbers")
        #expect(value["t"] == .bool(true) && value["f"] == .bool(false))
        #expect(value["x"] == .number(2500) && value["neg"] == .number(-7) && value["none"] == .null)
        #expect(value["s"] == .string("café 🎉"))
        #expect(value["list"] == .array([.number(1), .string("a"), .array([.bool(true)]), .object(["k": .null])]))
        #expect(value["o"]?["displayName"] == .string("Mia"))
    }

    @Test func randomValuesSurviveTheTrip() throws {
        var random = CellMarkupPropertyTests.Generator(state: 20_261_207)
        for round in 0..<300 {
            let value = CellMarkupPropertyTests.value(&random, depth: 0)
            let data = try JSONSerialization.data(withJSONObject: ["v": Self.json(value)])
            let read = try JSONDecoder().decode([String: JiraValue].self, from: data)["v"]
            // -0 is written as 0 by JSONSerialization: compare what can be written.
            #expect(read == value || Self.json(value) as? Double == 0, "round \(round)")
        }
    }

    static func json(_ value: JiraValue) -> Any {
        switch value {
        case .string(let text): text
        case .number(let number): number
        case .bool(let flag): flag
        case .null: NSNull()
        case .array(let items): items.map(json)
        case .object(let object): Dictionary(uniqueKeysWithValues: object.map { ($0.key, json($0.value)) })
        }
    }
}
