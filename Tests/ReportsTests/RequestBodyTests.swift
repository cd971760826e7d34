import Foundation
import Testing

@testable import Reports
@testable import ReportsSupport

/// Request bodies are refused, not guessed at, when a key repeats: JSONSerialization keeps the last of
/// two equal keys silently.
@Suite("Request bodies with repeated keys")
struct RequestBodyTests {
    @Test func aRepeatedKeyIsFoundAtAnyDepthAfterItsEscapesAreDecoded() {
        let cases: [(String, String?)] = [
            (#"{"a":1,"b":2}"#, nil),
            (#"{"a":1,"a":2}"#, "a"),
            (#"{"name":"x","\u006eame":"y"}"#, "name"),
            (#"{"schedule":{"cron":"0 8 * * *","cron":"* * * * *"}}"#, "schedule.cron"),
            (#"{"list":[{"k":1},{"k":2,"k":3}]}"#, "list.k"),
            (#"{"a":{"x":1},"b":{"x":1}}"#, nil),
            (#"{"a\"b":1,"a\\b":2,"a/b":3,"a\/b":4}"#, "a/b"),
            (#"{"emoji":"😀","\ud83d\ude00":1,"😀":2}"#, "😀"),
            (#"[1,2,{"z":null}]"#, nil),
            (#"{ "a" : [ ] , "b" : { } , "a" : 0 }"#, "a"),
        ]
        for (text, expected) in cases {
            #expect(JSONDuplicateKeys.first(in: Data(text.utf8)) == expected, "\(text)")
        }
    }

    @Test func aReportBodyWithARepeatedFieldIsRefusedWithItsOwnCode() {
        let body = Data(
            #"{"name":"Safe","name":"Other","jql":"project = OPS","columns":["key"],"sectionId":"1-abc"}"#.utf8)
        #expect(throws: BodyDecodingError(code: "duplicate_field", message: "field 'name' appears twice")) {
            _ = try JSONObjectBody.decode(ReportBody.self, from: body, allowedFields: ReportBody.fields)
        }
    }
}
