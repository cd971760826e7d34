import Foundation
import Testing

@testable import Atlassian
@testable import Microsoft
@testable import Rendering
@testable import Reports

/// `ReportColumn.standard` is the one column catalogue: validation, the renderer, the OpenAPI document
/// and the Custom UI's words must each say exactly what it says.
@Suite("Column catalogue")
struct ReportColumnCatalogueTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func file(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func definition(columns: [String]) -> ReportDefinition {
        ReportDefinition(
            name: "n", jql: "project = OPS", filterId: nil, columns: columns, location: "1-abc", schedule: nil,
            enabled: true)
    }

    @Test func validationAcceptsTheCatalogueAndCustomFieldsAndNothingElse() throws {
        let ids = ReportColumn.standard.map(\.id)
        #expect(Set(ids).count == ids.count, "ids are unique")
        for chunk in stride(from: 0, to: ids.count, by: ReportDefinition.maxColumns).map({
            Array(ids[$0..<min($0 + ReportDefinition.maxColumns, ids.count)])
        }) {
            #expect(throws: Never.self) { _ = try Self.definition(columns: chunk).validate() }
        }
        #expect(throws: Never.self) { _ = try Self.definition(columns: ["customfield_10010"]).validate() }
        for refused in ["Key", "sprint", "customfield_", "customfield_12345678901", "customfield_1x", "key "] {
            let error = #expect(throws: ReportValidationError.self) {
                _ = try Self.definition(columns: [refused]).validate()
            }
            #expect(error?.field == "columns", "\(refused)")
        }
    }

    @Test func thePagesHeaderRowUsesTheCatalogueLabels() {
        let columns = ReportColumn.standard.map(\.id) + ["customfield_10010"]
        let output = OneNotePageRenderer().render(
            ReportDocument(
                reportName: "r", jql: "j", columns: columns, issues: [], runAt: Date(timeIntervalSince1970: 0),
                timeZone: TimeZone(identifier: "UTC")!, siteURL: nil, layout: PageLayout(summary: false)))
        let labels = output.firstPart.matches(of: /<b>([^<]*)<\/b>/).map { String($0.1) }
        #expect(labels == ReportColumn.standard.map(\.label) + ["customfield_10010"])
    }

    @Test func theOpenAPIDocumentListsTheCatalogue() throws {
        let text = try Self.file("docs/openapi.yaml")
        let enums = text.matches(
            of: /- \{ type: string, enum: \[([^\]]*)\] \}\n\s*- \{ type: string, pattern: "([^"]*)" \}/)
        #expect(!enums.isEmpty, "the columns' anyOf is where this test looks for it")
        for match in enums {
            let listed = match.1.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(listed == ReportColumn.standard.map(\.id))
            #expect(match.2 == "^customfield_[0-9]{1,10}$")
        }
    }

    @Test func theCustomUINamesEachColumnAsTheCatalogueDoes() throws {
        let text = try Self.file("deploy/forge/static/reports/words.js")
        let block = try #require(text.firstMatch(of: /export const COLUMNS = \{([^}]*)\};/))
        let pairs = block.1.matches(of: /(\w+): '([^']*)'/).map { (String($0.1), String($0.2)) }
        #expect(pairs.map(\.0) == ReportColumn.standard.map(\.id))
        #expect(pairs.map(\.1) == ReportColumn.standard.map(\.label))
    }
}
