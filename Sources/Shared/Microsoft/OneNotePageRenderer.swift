import Foundation
public import Rendering

/// Writes a `ReportDocument` as OneNote XHTML (docs/design-notes.md §7): pure, no I/O.
///
/// A title; a header paragraph (report name, run time, issue count, "capped at N", JQL); the summary
/// (counts by status category on their colours, the summed field); each section's table, under its
/// group's heading when grouped, with a bold, shaded header row (no `th`, no colspan —
/// docs/microsoft-apis.md §3.2/§3.3), links as anchors, status cells coloured by status category,
/// children under their parents, empty values blank (docs/report-page.md). Every value is escaped,
/// and characters XML cannot carry are replaced, so the output is always well-formed. The report is
/// written in parts, each a `div` (`jira-report`, `jira-report-2`, …) that a later run replaces by
/// its generated id: the page plus further parts appended to the body, each request under
/// `maxPartBytes` (Graph refuses requests over 4 MB, §3.7).
public struct OneNotePageRenderer: Sendable {
    public static let tableDataId = "jira-report"
    public static let headerDataId = "report-header"

    /// The `data-id` that marks a page as the page of report `reportId` (ids are UUIDs: no quoting issue).
    public static func markerDataId(reportId: String) -> String { "onenote-reports-\(reportId)" }

    public struct Output: Sendable, Equatable {
        public let title: String
        /// The whole page for the create request: head, header paragraph and the first part.
        public let page: String
        /// The header paragraph alone (for a PATCH replace on later runs).
        public let header: String
        /// The first part alone (for a PATCH replace on later runs): a `div` holding the summary and
        /// the first tables.
        public let firstPart: String
        /// Further parts, each a `div` to append to the body in its own request.
        public let appendedParts: [String]
    }

    let maxPartBytes: Int

    public init(maxPartBytes: Int = 3_500_000) {
        self.maxPartBytes = maxPartBytes
    }

    /// `notes`: what people typed into the page's "Notes" column, read from the page before this
    /// write; each goes back beside its issue, and the notes of issues no longer in the report go into
    /// a table of their own at the end, so none is lost.
    package func render(_ document: ReportDocument, notes: PageNotes) -> Output {
        let title = document.title
        let header = headerParagraph(document.header)
        let head =
            "<!DOCTYPE html><html><head><title>\(Self.escape(title))</title><meta name=\"created\" content=\"\(Self.isoOffset(document.header.runAt, document.header.timeZone))\" /></head><body>"
        let marker =
            document.reportId.map {
                "<p data-id=\"\(Self.escape(Self.markerDataId(reportId: $0)))\" style=\"color:#808080;font-size:8pt\">Kept up to date by OneNote Reports for Jira</p>"
            } ?? ""
        let documentOverhead = head.utf8.count + header.utf8.count + marker.utf8.count + "</body></html>".utf8.count
        var parts = PartWriter(maxPartBytes: maxPartBytes, firstPartOverhead: documentOverhead)
        if let summary = document.summary {
            var block = MarkupBuffer(capacity: 1024)
            Self.writeSummary(summary, sumLabel: document.sumLabel, into: &block)
            parts.add(block)
        }
        if let changes = document.changes {
            var block = MarkupBuffer(capacity: 1024)
            Self.writeChanges(changes, timeZone: document.header.timeZone, into: &block)
            parts.add(block)
        }
        // Every row's markup is written first, on every core (RowWork: a row's markup depends on its
        // cells alone), then added to the open table in order; a table that would pass the request
        // limit is closed, and the next part begins with the same header row (and the group's heading,
        // "continued").
        let rows = RenderedRows(document, notes: notes)
        var next = rows.makeIterator()
        for section in document.sections {
            var heading = MarkupBuffer()
            var continuedHeading = MarkupBuffer()
            if let group = section.group {
                Self.writeHeading(group, sumLabel: document.sumLabel, continued: false, into: &heading)
                Self.writeHeading(group, sumLabel: document.sumLabel, continued: true, into: &continuedHeading)
            }
            var headerRow = MarkupBuffer()
            headerRow.raw("<tr>")
            for column in section.columns + (document.notesColumn ? [PageNotes.header] : []) {
                headerRow.raw("<td style=\"background-color:#D9D9D9\"><b>")
                headerRow.text(column)
                headerRow.raw("</b></td>")
            }
            headerRow.raw("</tr>")
            parts.beginTable(heading: heading, continuedHeading: continuedHeading, headerRow: headerRow)
            for _ in section.rows.indices { parts.addRow(next.next()!) }
            parts.endTable()
        }
        if document.notesColumn { Self.writeOrphanNotes(notes, document: document, into: &parts) }
        let (first, appended) = parts.finish()
        var page = ""
        page.reserveCapacity(documentOverhead + first.utf8.count)
        for part in [head, header, marker, first, "</body></html>"] { page += part }
        return Output(title: title, page: page, header: header, firstPart: first, appendedParts: appended)
    }

    public func render(_ document: ReportDocument) -> Output { render(document, notes: PageNotes()) }

    /// One row of a section: its cells (the first indented under its parent, changed ones highlighted)
    /// and, with the notes column, the note kept for its issue.
    static func writeRow(
        _ row: Int, of section: ReportDocument.Section, notesColumn: Bool, notes: PageNotes,
        into output: inout MarkupBuffer
    ) {
        output.raw("<tr>")
        let level = row < section.levels.count ? section.levels[row] : 0
        let changed = row < section.changed.count ? section.changed[row] : []
        for (column, cell) in section.rows[row].enumerated() {
            let highlighted = !changed.isEmpty && changed.contains(column)
            write(cell, indent: column == 0 ? level : 0, changed: highlighted, into: &output)
        }
        if notesColumn {
            output.raw("<td>")
            if row < section.keys.count, let note = notes.byKey[section.keys[row]] { output.raw(note) }
            output.raw("</td>")
        }
        output.raw("</tr>")
    }

    func headerParagraph(_ header: ReportDocument.Header) -> String {
        var text = "\(header.reportName) · \(header.issueCount) issue\(header.issueCount == 1 ? "" : "s")"
        if let capped = header.cappedAt { text += " (capped at \(capped))" }
        text +=
            " · updated \(ReportDocument.displayDate(header.runAt, header.timeZone)) (\(header.timeZone.identifier))"
        return "<p data-id=\"\(Self.headerDataId)\">\(Self.escape(text))<br/>JQL: <i>\(Self.escape(header.jql))</i></p>"
    }

    /// One cell; `indent` > 0 puts a child row's first cell under its parent's ("↳", one em space
    /// per level: OneNote has no cell padding to indent with); a cell whose value changed since the
    /// last run is highlighted (over a status's own colour).
    static func write(
        _ cell: ReportDocument.Cell, indent: Int = 0, changed: Bool = false, into output: inout MarkupBuffer
    ) {
        if changed {
            output.raw("<td style=\"background-color:")
            output.raw(changedColour)
            output.raw("\">")
        } else if case .status(_, let category) = cell {
            output.raw("<td style=\"background-color:")
            output.raw(statusColour(category))
            output.raw("\">")
        } else {
            output.raw("<td>")
        }
        if indent > 0 {
            for _ in 0..<indent { output.raw("\u{2003}") }
            output.raw("\u{21B3} ")
        }
        writeContent(cell, into: &output)
        output.raw("</td>")
    }

    /// A changed cell's background: Jira's light yellow.
    static let changedColour: StaticString = "#FFF0B3"

    /// A cell's content, without its `td`.
    static func writeContent(_ cell: ReportDocument.Cell, into output: inout MarkupBuffer) {
        switch cell {
        case .empty:
            break
        case .text(let text):
            output.text(text)
        case .link(let text, let url):
            output.raw("<a href=\"")
            output.text(url)
            output.raw("\">")
            output.text(text)
            output.raw("</a>")
        case .status(let name, _):
            output.text(name)
        case .rich(let text):
            RichTextMarkup.write(text, into: &output)
        }
    }

    /// Jira's status category colours (docs/atlassian-apis.md §4: `colorName`), as light cell backgrounds.
    static func statusColour(_ category: String) -> StaticString {
        switch category {
        case "new": "#DFE1E6"  // blue-gray: To Do
        case "indeterminate": "#DEEBFF"  // in progress
        case "done": "#E3FCEF"  // green
        default: "#F4F5F7"  // undefined / no category
        }
    }

    /// XML-escaped text with characters XML 1.0 cannot carry replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        var buffer = MarkupBuffer(capacity: text.utf8.count + 16)
        buffer.text(text)
        return buffer.string
    }

    /// ISO 8601 with the zone's offset, for `<meta name="created">` (docs/microsoft-apis.md §3.6).
    static func isoOffset(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let offset = zone.secondsFromGMT(for: date)
        func pad(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let sign = offset < 0 ? "-" : "+"
        return
            "\(parts.year ?? 0)-\(pad(parts.month))-\(pad(parts.day))T\(pad(parts.hour)):\(pad(parts.minute)):\(pad(parts.second))\(sign)\(pad(abs(offset) / 3600)):\(pad(abs(offset) % 3600 / 60))"
    }
}
