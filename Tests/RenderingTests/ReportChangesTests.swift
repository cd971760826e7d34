import Atlassian
import Foundation
import Testing

@testable import Rendering

/// What changed since the last successful run, in memory: new issues, issues that left, status moves,
/// the cells whose value changed (by column id), and the snapshot kept for the next run.
@Suite("What changed since the last run")
struct ReportChangesTests {
    static func issue(_ key: String, _ summary: String, _ status: String) -> JiraIssue {
        JiraIssue(
            id: key, key: key,
            fields: [
                "summary": .string(summary),
                "status": .object(["name": .string(status), "statusCategory": .object(["key": .string("new")])]),
            ])
    }

    static func document(_ issues: [JiraIssue], columns: [String] = ["key", "summary", "status"], lastRun: LastRun)
        -> ReportDocument
    {
        ReportDocument(
            reportName: "R", jql: "x", columns: columns, issues: issues, runAt: Date(timeIntervalSince1970: 2_000),
            timeZone: TimeZone(identifier: "UTC")!, siteURL: nil, layout: PageLayout(summary: false),
            lastRun: lastRun)
    }

    @Test func aFirstRunSaysSoAndAnUnknownLastRunSaysNothing() {
        let first = Self.document([Self.issue("A-1", "One", "To Do")], lastRun: .none)
        #expect(first.changes == ReportDocument.Changes(since: nil))
        #expect(first.snapshot?.issues.map(\.key) == ["A-1"])
        let preview = Self.document([Self.issue("A-1", "One", "To Do")], lastRun: .unknown)
        #expect(preview.changes == nil && preview.snapshot == nil)
    }

    @Test func newIssuesIssuesThatLeftStatusMovesAndChangedCellsAreNamedExactly() throws {
        let before = Self.document(
            [Self.issue("A-1", "One", "To Do"), Self.issue("A-2", "Two", "To Do"), Self.issue("A-3", "Three", "Done")],
            lastRun: .none)
        let snapshot = try #require(before.snapshot)
        let after = Self.document(
            [
                Self.issue("A-1", "One", "In Progress"), Self.issue("A-2", "Two, renamed", "To Do"),
                Self.issue("A-4", "Four", "To Do"),
            ], lastRun: .snapshot(snapshot))
        let changes = try #require(after.changes)
        #expect(changes.since == Date(timeIntervalSince1970: 2_000))
        #expect(changes.added == ["A-4"] && changes.removed == ["A-3"])
        #expect(changes.moved == [.init(key: "A-1", from: "To Do", to: "In Progress")])
        // Per row: A-1's status, A-2's summary, and the new A-4's key.
        #expect(after.sections[0].changed == [[2], [1], [0]])
    }

    @Test func aColumnAddedOrMovedIsNotAChange() throws {
        let before = Self.document([Self.issue("A-1", "One", "To Do")], columns: ["key", "summary"], lastRun: .none)
        let after = Self.document(
            [Self.issue("A-1", "One", "To Do")], columns: ["key", "status", "summary"],
            lastRun: .snapshot(try #require(before.snapshot)))
        #expect(after.sections[0].changed.isEmpty)
        #expect(after.changes?.added == [] && after.changes?.moved == [])
    }

    @Test func aSnapshotReadsBackAsItWasAndRefusesWhatItDidNotWrite() throws {
        let snapshot = ReportSnapshot(
            takenAt: Date(timeIntervalSince1970: 1_800_000_000.5), columns: ["key", "customfield_10016"],
            issues: [
                .init(key: "OPS-1", status: "In Progress", cells: [1, 0xFFFF_FFFF]),
                .init(key: "OPS-2", status: String(repeating: "é", count: 200), cells: [3, 4]),
            ])
        let bytes = snapshot.encoded()
        let read = try #require(ReportSnapshot(encoded: bytes))
        #expect(read.columns == snapshot.columns && read.issues.first == snapshot.issues.first)
        #expect(read.issues[1].status.utf8.count <= 255 && read.issues[1].status.allSatisfy { $0 == "é" })
        #expect(read.takenAt == Date(timeIntervalSince1970: 1_800_000_000.5))
        // A snapshot of version 1 hashed its cells another way: it is not read.
        for broken in [Data(), Data([2]), bytes.dropLast(), bytes + Data([0]), Data([1]) + bytes.dropFirst()] {
            #expect(ReportSnapshot(encoded: Data(broken)) == nil)
        }
    }

    @Test func aSnapshotAtTheCapIsSmall() {
        let issues = (1...5000).map { Self.issue("OPS-\($0)", "Summary \($0)", "In Progress") }
        let document = Self.document(
            issues, columns: ["key", "summary", "status", "assignee", "priority", "updated", "labels", "created"],
            lastRun: .none)
        let bytes = document.snapshot?.encoded().count ?? 0
        #expect(bytes > 0 && bytes < 300_000, "\(bytes) bytes for 5,000 issues of 8 columns")
    }

    /// The hash reads eight bytes at a time: a change in any byte, at the end of a text, across the
    /// boundary of two texts, or in a formatted cell's structure alone gives another hash.
    @Test func cellHashesTellApartWhatAPersonWouldSeeAsDifferent() {
        let long = "The quarterly report for the platform team"
        var seen: [UInt32: String] = [:]
        var cells: [(String, ReportDocument.Cell)] = [
            ("empty", .empty), ("blank", .text("")), ("long", .text(long)),
            ("link ab|c", .link("ab", url: "c")), ("link a|bc", .link("a", url: "bc")),
            ("status", .status("Done", category: "done")), ("status other", .status("Done", category: "new")),
            ("bold", .rich(RichText(blocks: [.paragraph([.text("x", .bold)])]))),
            ("italic", .rich(RichText(blocks: [.paragraph([.text("x", .italic)])]))),
            ("code", .rich(RichText(blocks: [.code("x")]))),
            ("quote", .rich(RichText(blocks: [.quote([.paragraph([.text("x", [])])])]))),
        ]
        for index in long.indices {
            var changed = long
            changed.replaceSubrange(index...index, with: "#")
            cells.append(("long changed at \(long.distance(from: long.startIndex, to: index))", .text(changed)))
        }
        cells.append(("long, one byte more", .text(long + " ")))
        for (name, cell) in cells {
            let hash = CellHash.of(cell)
            #expect(seen[hash] == nil, "\(name) hashes as \(seen[hash] ?? "")")
            seen[hash] = name
            #expect(CellHash.of(cell) == hash)
        }
    }
}
