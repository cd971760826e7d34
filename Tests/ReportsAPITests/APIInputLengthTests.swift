import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReportsTesting
import TestSupport
import Testing

@testable import Enqueuer
@testable import Reports
@testable import ReportsAPI
@testable import SQLiteBackend

/// Length limits count what the schema counts: SQLite's `length()` and JSON
/// Schema's `maxLength` both count Unicode code points, so a grapheme of several scalars ("👍🏽" is two,
/// a decomposed "é" is two) must be counted as several, or a value that passes validation hits a
/// CHECK constraint and answers 500.
@Suite("API input lengths with multi-scalar graphemes")
struct APIInputLengthTests {
    static let thumbs = "👍🏽"  // U+1F44D U+1F3FD: one grapheme, two scalars
    static let decomposed = "e\u{301}"  // e + combining acute: one grapheme, two scalars

    static func body(name: String = "Open bugs", jql: String = "project = OPS") -> String {
        #"{"name":"\#(name)","jql":"\#(jql)","columns":["key"],"sectionId":"\#(APIRouterTests.section)"}"#
    }

    @Test func everyLengthLimitedFieldCountsScalarsNotGraphemes() async throws {
        #expect(Self.thumbs.count == 1 && Self.thumbs.unicodeScalars.count == 2)
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test { client in
                // (body, expected status): at the limit is stored, one grapheme over is a 422, never a 500.
                let cases: [(String, HTTPResponse.Status)] = [
                    (Self.body(name: String(repeating: Self.thumbs, count: 100)), .created),  // 200 scalars
                    (Self.body(name: String(repeating: Self.thumbs, count: 101)), .unprocessableContent),
                    // the report's case
                    (Self.body(name: String(repeating: Self.thumbs, count: 150)), .unprocessableContent),
                    (Self.body(name: String(repeating: Self.decomposed, count: 101)), .unprocessableContent),
                    (Self.body(jql: "summary ~ " + String(repeating: Self.decomposed, count: 995)), .created),  // 2000
                    (
                        Self.body(jql: "summary ~ " + String(repeating: Self.decomposed, count: 996)),
                        .unprocessableContent
                    ),
                ]
                for (body, status) in cases {
                    let response = try await client.execute(
                        uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: body))
                    #expect(
                        response.status == status,
                        "\(body.unicodeScalars.count) scalars: \(response.status) \(response.text.prefix(160))")
                    if status != .created { #expect(response.errorCode == "invalid_report") }
                }
                // The same rule on a PUT of an existing report.
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.body()))
                let id = try #require(created.json["id"] as? String)
                let put = try await client.execute(
                    uri: "/v1/reports/\(id)", method: .put, headers: alice,
                    body: ByteBuffer(string: Self.body(name: String(repeating: Self.thumbs, count: 150))))
                #expect(put.status == .unprocessableContent && put.errorCode == "invalid_report", "\(put.status)")

                // Query and path parameters: too long is a 400 or a 404, never a 500.
                let userToken = try await harness.headers(extra: [FITMiddleware.userTokenHeader: "user-token-1"])
                let query = String(repeating: Self.thumbs, count: 101).addingPercentEncoding(
                    withAllowedCharacters: .urlQueryAllowed)!
                let filters = try await client.execute(
                    uri: "/v1/jira/filters?query=\(query)", method: .get, headers: userToken)
                #expect(filters.status == .badRequest && filters.errorCode == "invalid_parameter", "\(filters.status)")
                let runId = String(repeating: Self.thumbs, count: 40).addingPercentEncoding(
                    withAllowedCharacters: .urlPathAllowed)!
                let run = try await client.execute(uri: "/v1/runs/\(runId)", method: .get, headers: alice)
                #expect(run.status == .notFound, "\(run.status)")
            }
            // Only the two reports at the limit and the one for the PUT were stored.
            let stored = try await harness.fixture.reports.list(
                ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice"))
            #expect(stored.count == 3)
            #expect(stored.contains { $0.name == String(repeating: Self.thumbs, count: 100) })
        }
    }

    /// A control character in a name answered 500 (the database CHECK on SQLite, an encoding error on
    /// PostgreSQL): every C0 control and DEL is a 422 at the name field on POST and PUT, and nothing is stored.
    @Test func controlCharactersInANameAre422AtTheField() async throws {
        try await APIHarness.run { harness in
            let alice = try await harness.editorHeaders()
            try await harness.test { client in
                let created = try await client.execute(
                    uri: "/v1/reports", method: .post, headers: alice, body: ByteBuffer(string: Self.body()))
                let id = try #require(created.json["id"] as? String)
                for value in Array(0x00...0x1F) + [0x7F] {
                    let escaped = String(format: "\\u%04x", value)
                    for (uri, method) in [("/v1/reports", HTTPRequest.Method.post), ("/v1/reports/\(id)", .put)] {
                        let response = try await client.execute(
                            uri: uri, method: method, headers: alice,
                            body: ByteBuffer(string: Self.body(name: "\(escaped)x")))
                        let message = (response.json["error"] as? [String: Any])?["message"] as? String
                        #expect(
                            response.status == .unprocessableContent && response.errorCode == "invalid_report"
                                && message?.hasPrefix("name: ") == true,
                            "U+\(String(format: "%04X", value)) \(method): \(response.status) \(response.text.prefix(120))"
                        )
                    }
                }
            }
            let stored = try await harness.fixture.reports.list(
                ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice"))
            #expect(stored.map(\.name) == ["Open bugs"])
        }
    }
}
