import Foundation
import Rendering

/// The page's parts as they are written: each a `div` with its own `data-id` (`jira-report`,
/// `jira-report-2`, …) under `maxPartBytes`, so each is one request (Graph refuses requests over
/// 4 MB, docs/microsoft-apis.md §3.7) and a later run can replace it by its generated id (a `div`
/// within the page's div can be replaced, §2.5). A table that does not fit is continued in the next
/// part under the same header row, with its group's heading marked "continued".
struct PartWriter {
    let maxPartBytes: Int
    /// What the first part shares its request with: the page's head, header paragraph and marker.
    let firstPartOverhead: Int

    private(set) var parts: [String] = []
    /// The open part, as text: rows come as text already checked (`RenderedRows`), so a part is put
    /// together by copying, and never checked again as a whole.
    private var part = ""
    private var partOpen = false
    private var tableOpen = false
    private var heading = ""
    private var continuedHeading = ""
    private var headerRow = ""
    /// Room kept for the closing tags of the open table and part.
    private static let closingRoom = 64

    init(maxPartBytes: Int, firstPartOverhead: Int) {
        self.maxPartBytes = maxPartBytes
        self.firstPartOverhead = firstPartOverhead
    }

    private var budget: Int { maxPartBytes - (parts.isEmpty ? firstPartOverhead : 0) - Self.closingRoom }

    /// True when the open part already holds more than its start tag.
    private var partHasContent: Bool { partOpen && part.utf8.count > Self.startTagBytes(parts.count + 1) }

    private static func dataId(_ number: Int) -> String {
        number == 1 ? OneNotePageRenderer.tableDataId : "\(OneNotePageRenderer.tableDataId)-\(number)"
    }

    private static func startTagBytes(_ number: Int) -> Int {
        "<div data-id=\"\">".utf8.count + dataId(number).utf8.count
    }

    private mutating func openPart() {
        part = ""
        part.reserveCapacity(1 << 16)
        part += "<div data-id=\""
        part += Self.dataId(parts.count + 1)
        part += "\">"
        partOpen = true
    }

    private mutating func closePart() {
        if tableOpen { part += "</table>" }
        part += "</div>"
        parts.append(part)
        part = ""
        partOpen = false
    }

    /// A block that is not a table (the summary), kept whole.
    mutating func add(_ block: MarkupBuffer) {
        if !partOpen { openPart() }
        if partHasContent && part.utf8.count + block.count > budget { newPart(continuing: false) }
        part += block.string
    }

    /// Starts a table: its heading (empty when the report is not grouped) and header row.
    mutating func beginTable(heading: MarkupBuffer, continuedHeading: MarkupBuffer, headerRow: MarkupBuffer) {
        self.heading = heading.string
        self.continuedHeading = continuedHeading.string
        self.headerRow = headerRow.string
        tableOpen = false
    }

    /// One row's markup (`<tr>…</tr>`).
    mutating func addRow(_ row: Substring) {
        if !partOpen { openPart() }
        let rowBytes = row.utf8.count
        if !tableOpen {
            if partHasContent && part.utf8.count + heading.utf8.count + headerRow.utf8.count + rowBytes + 32 > budget {
                newPart(continuing: false)
            }
            openTable(continued: false)
        } else if part.utf8.count + rowBytes > budget {
            newPart(continuing: true)
        }
        part += row
    }

    /// Ends the table; a table without rows still shows its header row.
    mutating func endTable() {
        if !tableOpen {
            if !partOpen { openPart() }
            openTable(continued: false)
        }
        part += "</table>"
        tableOpen = false
    }

    private mutating func openTable(continued: Bool) {
        part += continued ? continuedHeading : heading
        part += "<table border=\"1\">"
        part += headerRow
        tableOpen = true
    }

    /// Closes the part (and its table) and opens the next; a table that was open goes on in it.
    private mutating func newPart(continuing: Bool) {
        let wasOpen = tableOpen
        closePart()
        tableOpen = false
        openPart()
        if continuing && wasOpen { openTable(continued: true) }
    }

    /// The first part and the ones appended after it; a report with nothing in it is one empty part.
    mutating func finish() -> (first: String, appended: [String]) {
        if !partOpen && parts.isEmpty { openPart() }
        if partOpen { closePart() }
        return (parts[0], Array(parts.dropFirst()))
    }
}

extension OneNotePageRenderer {
    /// The summary: a line with the total (and the summed field's), then a small table of the status
    /// categories on their colours.
    static func writeSummary(_ summary: ReportDocument.Summary, sumLabel: String?, into output: inout MarkupBuffer) {
        output.raw("<p style=\"font-size:12pt\"><b>")
        output.text(count(summary.total))
        output.raw("</b>")
        if let sumLabel, let sum = summary.sum {
            output.raw(" · <b>")
            output.text(JiraNumbers.format(sum))
            output.raw("</b> ")
            output.text(sumLabel)
        }
        output.raw("</p>")
        guard !summary.categories.isEmpty else { return }
        output.raw("<table border=\"1\"><tr>")
        for category in summary.categories {
            output.raw("<td style=\"background-color:")
            output.raw(statusColour(category.key))
            output.raw("\"><b>")
            output.text(category.name)
            output.raw("</b><br/>")
            writeCount(category.count, sum: category.sum, sumLabel: sumLabel, into: &output)
            output.raw("</td>")
        }
        output.raw("</tr></table>")
    }

    /// What changed since the last run, under the summary: a line with the counts, then the new
    /// issues, the ones that left and the status moves (each list cut at `changeListLimit`, "and N
    /// more"). On a first run, one line that says so.
    static func writeChanges(_ changes: ReportDocument.Changes, timeZone: TimeZone, into output: inout MarkupBuffer) {
        guard let since = changes.since else {
            output.raw(
                "<p><b>First update</b> with a record to compare: from the next update on, what changed is shown here.</p>"
            )
            return
        }
        output.raw("<p><b>Since the last update</b> (")
        output.text(ReportDocument.displayDate(since, timeZone))
        output.raw("): ")
        if changes.added.isEmpty && changes.removed.isEmpty && changes.moved.isEmpty {
            output.raw("no issue came or went, no status moved. Changed cells are highlighted.</p>")
            return
        }
        output.text(
            "\(changes.added.count) new · \(changes.removed.count) no longer in this report · \(changes.moved.count) moved. Changed cells are highlighted."
        )
        output.raw("</p><ul>")
        func list(_ label: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            output.raw("<li><b>")
            output.text(label)
            output.raw(":</b> ")
            output.text(items.prefix(changeListLimit).joined(separator: ", "))
            if items.count > changeListLimit { output.text(" and \(items.count - changeListLimit) more") }
            output.raw("</li>")
        }
        list("New", changes.added)
        list("No longer in this report", changes.removed)
        list("Moved", changes.moved.map { "\($0.key) \($0.from) → \($0.to)" })
        output.raw("</ul>")
    }

    static let changeListLimit = 25

    /// A group's heading: its name, then its count and subtotal in grey.
    static func writeHeading(
        _ group: ReportDocument.Group, sumLabel: String?, continued: Bool, into output: inout MarkupBuffer
    ) {
        output.raw("<h2>")
        output.text(group.name)
        output.raw("<span style=\"color:#5E6C84\"> · ")
        writeCount(group.count, sum: group.sum, sumLabel: sumLabel, into: &output)
        if continued { output.raw(" (continued)") }
        output.raw("</span></h2>")
    }

    static let orphanNotesHeading = "Notes on issues no longer in this report"

    /// The notes of issues that left the report, in a table of their own (key, note) under its heading,
    /// in key order: read back like every other table, so a note returns to its row if its issue does.
    static func writeOrphanNotes(_ notes: PageNotes, document: ReportDocument, into parts: inout PartWriter) {
        let present = Set(document.sections.flatMap(\.keys))
        let orphans = notes.byKey.keys.filter { !present.contains($0) }.naturallySorted()
        guard !orphans.isEmpty else { return }
        var heading = MarkupBuffer()
        heading.raw("<h2>")
        heading.text(orphanNotesHeading)
        heading.raw("</h2>")
        var continued = MarkupBuffer()
        continued.raw("<h2>")
        continued.text("\(orphanNotesHeading) (continued)")
        continued.raw("</h2>")
        var header = MarkupBuffer()
        header.raw(
            "<tr><td style=\"background-color:#D9D9D9\"><b>Key</b></td><td style=\"background-color:#D9D9D9\"><b>")
        header.text(PageNotes.header)
        header.raw("</b></td></tr>")
        parts.beginTable(heading: heading, continuedHeading: continued, headerRow: header)
        var row = MarkupBuffer()
        for key in orphans {
            row.removeAll()
            row.raw("<tr><td>")
            row.text(key)
            row.raw("</td><td>")
            row.raw(notes.byKey[key] ?? "")
            row.raw("</td></tr>")
            parts.addRow(Substring(row.string))
        }
        parts.endTable()
    }

    /// "12 issues · 21 Story points": the count, and the sum when the layout sums a field.
    static func writeCount(_ issues: Int, sum: Double?, sumLabel: String?, into output: inout MarkupBuffer) {
        output.text(count(issues))
        if let sumLabel, let sum {
            output.raw(" · ")
            output.text("\(JiraNumbers.format(sum)) \(sumLabel)")
        }
    }

    static func count(_ issues: Int) -> String {
        "\(JiraNumbers.format(Double(issues))) issue\(issues == 1 ? "" : "s")"
    }
}
