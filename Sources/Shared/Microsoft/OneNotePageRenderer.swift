import Foundation
public import Rendering

/// Writes a `ReportDocument` as OneNote XHTML (docs/design-notes.md §7): pure, no I/O.
///
/// A title; a header paragraph (report name, run time, issue count, "capped at N", JQL); each section's
/// table with a bold, shaded header row (no `th`, no colspan — docs/microsoft-apis.md §3.2/§3.3), links
/// as anchors, status cells coloured by status category, empty values blank. Every value is escaped,
/// and characters XML cannot carry are replaced, so the output is always well-formed. A report too
/// large for one request is split: the page plus further tables appended to the body, each request
/// under `maxPartBytes` (Graph refuses requests over 4 MB, §3.7).
public struct OneNotePageRenderer: Sendable {
    public static let tableDataId = "jira-report"
    public static let headerDataId = "report-header"

    /// The `data-id` that marks a page as the page of report `reportId` (ids are UUIDs: no quoting issue).
    public static func markerDataId(reportId: String) -> String { "onenote-reports-\(reportId)" }

    public struct Output: Sendable, Equatable {
        public let title: String
        /// The whole page for the create request: head, header paragraph and the first table.
        public let page: String
        /// The header paragraph alone (for a PATCH replace on later runs).
        public let header: String
        /// The first table alone (for a PATCH replace on later runs).
        public let firstTable: String
        /// Further tables, each to append to the body in its own request.
        public let appendedTables: [String]
    }

    let maxPartBytes: Int

    public init(maxPartBytes: Int = 3_500_000) {
        self.maxPartBytes = maxPartBytes
    }

    public func render(_ document: ReportDocument) -> Output {
        let title = document.title
        let header = headerParagraph(document.header)
        let head =
            "<!DOCTYPE html><html><head><title>\(Self.escape(title))</title><meta name=\"created\" content=\"\(Self.isoOffset(document.header.runAt, document.header.timeZone))\" /></head><body>"
        let marker =
            document.reportId.map {
                "<p data-id=\"\(Self.escape(Self.markerDataId(reportId: $0)))\" style=\"color:#808080;font-size:8pt\">Kept up to date by OneNote Reports for Jira</p>"
            } ?? ""
        let documentOverhead = head.utf8.count + header.utf8.count + marker.utf8.count + "</body></html>".utf8.count

        // Each row is written into one reusable buffer, then appended to the rows of the current
        // table; a table that would pass the request limit is closed and a new one begun.
        var tables: [String] = []
        // The open table: its start tag and header row, then its rows (`rowBytes` of them).
        var table = MarkupBuffer(capacity: 1 << 16)
        var rowBytes = 0
        var row = MarkupBuffer(capacity: 4096)
        var headerRow = MarkupBuffer()
        func open() {
            table.removeAll()
            table.raw("<table data-id=\"")
            table.raw(tables.isEmpty ? Self.tableDataId : "\(Self.tableDataId)-\(tables.count + 1)")
            table.raw("\" border=\"1\">")
            table.append(headerRow)
            rowBytes = 0
        }
        func flush() {
            if table.count == 0 { open() }
            table.raw("</table>")
            tables.append(table.string)
            table.removeAll()
            rowBytes = 0
        }
        for section in document.sections {
            if rowBytes > 0 { flush() }
            headerRow = MarkupBuffer()
            headerRow.raw("<tr>")
            for column in section.columns {
                headerRow.raw("<td style=\"background-color:#D9D9D9\"><b>")
                headerRow.text(column)
                headerRow.raw("</b></td>")
            }
            headerRow.raw("</tr>")
            for cells in section.rows {
                row.removeAll()
                row.raw("<tr>")
                for cell in cells { Self.write(cell, into: &row) }
                row.raw("</tr>")
                let budget = maxPartBytes - (tables.isEmpty ? documentOverhead : 0) - headerRow.count - 64
                if rowBytes > 0 && rowBytes + row.count > budget { flush() }
                if rowBytes == 0 { open() }
                table.append(row)
                rowBytes += row.count
            }
        }
        if tables.isEmpty || rowBytes > 0 { flush() }
        table = MarkupBuffer()  // a large report's buffer is let go before the page is put together
        var page = ""
        page.reserveCapacity(documentOverhead + tables[0].utf8.count)
        for part in [head, header, marker, tables[0], "</body></html>"] { page += part }
        return Output(
            title: title, page: page, header: header, firstTable: tables[0], appendedTables: Array(tables.dropFirst()))
    }

    func headerParagraph(_ header: ReportDocument.Header) -> String {
        var text = "\(header.reportName) · \(header.issueCount) issue\(header.issueCount == 1 ? "" : "s")"
        if let capped = header.cappedAt { text += " (capped at \(capped))" }
        text +=
            " · updated \(ReportDocument.displayDate(header.runAt, header.timeZone)) (\(header.timeZone.identifier))"
        return "<p data-id=\"\(Self.headerDataId)\">\(Self.escape(text))<br/>JQL: <i>\(Self.escape(header.jql))</i></p>"
    }

    static func write(_ cell: ReportDocument.Cell, into output: inout MarkupBuffer) {
        switch cell {
        case .empty:
            output.raw("<td></td>")
        case .text(let text):
            output.raw("<td>")
            output.text(text)
            output.raw("</td>")
        case .link(let text, let url):
            output.raw("<td><a href=\"")
            output.text(url)
            output.raw("\">")
            output.text(text)
            output.raw("</a></td>")
        case .status(let name, let category):
            output.raw("<td style=\"background-color:")
            output.raw(statusColour(category))
            output.raw("\">")
            output.text(name)
            output.raw("</td>")
        case .rich(let text):
            output.raw("<td>")
            RichTextMarkup.write(text, into: &output)
            output.raw("</td>")
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
