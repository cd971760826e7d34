import Atlassian
import Foundation
import Testing

@testable import Rendering

/// A report's rows are built on every core, in slices: every row once, in page order, the same cells
/// as the issue alone would give.
@Suite("Rows built on every core")
struct RowWorkTests {
    @Test func slicesCoverEveryRowOnceAndInOrder() {
        for count in [0, 1, 255, 256, 511, 512, 5_000, 10_007] {
            let ranges = RowWork.slices(of: count) { $0 }
            #expect(ranges.flatMap { Array($0) } == Array(0..<count), "\(count)")
            if ProcessInfo.processInfo.activeProcessorCount > 1 && count >= 2 * RowWork.minimumSliceRows {
                #expect(ranges.count > 1, "\(count) rows are worked on in several slices")
            }
        }
        #expect(RowWork.map(10_007) { $0 &* 31 } == (0..<10_007).map { $0 &* 31 })
    }

    @Test func aLargeReportsRowsAreTheRowsEachIssueGivesAlone() {
        let count = 3_000
        let issues = (0..<count).map { index in
            var fields: [String: JiraValue] = [
                "summary": .string("Issue \(index) " + String(repeating: "é", count: index % 7)),
                "status": .object([
                    "name": .string(["To Do", "In Progress", "Done"][index % 3]),
                    "statusCategory": .object(["key": .string(["new", "indeterminate", "done"][index % 3])]),
                ]),
                "customfield_10016": .number(Double(index % 8)),
                "updated": .string("2026-11-\(10 + index % 19)T0\(index % 10):15:00.000+0000"),
                "customfield_10021": .object(["value": .string("Team \(index % 13)")]),
            ]
            if index % 4 == 3 { fields["parent"] = .object(["key": .string("OPS-\(index - 13)")]) }
            return JiraIssue(id: "\(index)", key: "OPS-\(index)", fields: fields)
        }
        let columns = ["key", "summary", "status", "updated", "customfield_10016"]
        let zone = TimeZone(identifier: "Europe/Berlin")!
        let site = URL(string: "https://example.atlassian.net")
        let layout = PageLayout(
            sumField: "customfield_10016", groupBy: "customfield_10021", parentChild: true, notesColumn: true)
        let document = ReportDocument(
            reportName: "R", jql: "j", columns: columns, issues: issues, runAt: Date(), timeZone: zone, siteURL: site,
            layout: layout, lastRun: .none)
        let byKey = Dictionary(uniqueKeysWithValues: issues.map { ($0.key, $0) })
        let keys = document.sections.flatMap(\.keys)
        #expect(keys.count == count && Set(keys).count == count, "every issue once")
        #expect(document.sections.count == 13)
        for section in document.sections {
            #expect(section.keys.count == section.rows.count)
            for (key, row) in zip(section.keys, section.rows) {
                let alone = ReportDocument(
                    reportName: "R", jql: "j", columns: columns, issues: [byKey[key]!], runAt: Date(), timeZone: zone,
                    siteURL: site, layout: layout, lastRun: .none)
                #expect(alone.sections[0].rows == [row], "\(key)")
            }
        }
        // The snapshot's issues are the rows, in page order, each with its own cells' hashes.
        let snapshot = document.snapshot?.issues ?? []
        #expect(snapshot.map(\.key) == keys)
        #expect(snapshot.map(\.cells) == document.sections.flatMap(\.rows).map { $0.map(CellHash.of) })
    }
}
