public import Foundation

/// Turns a report's issues into OneNote XHTML (docs/design-notes.md §7): pure, no I/O.
///
/// A title; a header paragraph (report name, run time, issue count, "capped at N", JQL); one table with a
/// bold, shaded header row (no `th`, no colspan — docs/microsoft-apis.md §3.2/§3.3), issue keys linked to the
/// site, status cells coloured by status category, empty values blank, dates in the report's time zone.
/// Every value from Jira is escaped, and characters XML cannot carry are replaced, so the output is
/// always well-formed. A report too large for one request is split: the page plus further tables
/// appended to the body, each request under `maxPartBytes` (Graph refuses requests over 4 MB, §3.7).
public struct ReportRenderer: Sendable {
    public static let tableDataId = "jira-report"
    public static let headerDataId = "report-header"

    /// The `data-id` that marks a page as the page of report `reportId` (ids are UUIDs: no quoting issue).
    public static func markerDataId(reportId: String) -> String { "onenote-reports-\(reportId)" }

    public struct Input: Sendable {
        var reportName: String
        public var jql: String
        public var columns: [String]
        var issues: [JiraIssue]
        public var runAt: Date
        public var timeZone: TimeZone
        /// `https://<site>` for `…/browse/<KEY>` links; nil renders keys as plain text.
        var siteURL: URL?
        /// Set when more issues matched than the cap allowed: "capped at N".
        var cappedAt: Int?
        /// The report's id: written into the page as its marker (`data-id` of a small footer line), so a
        /// page whose create answer was lost can be found again (docs/page-identity.md).
        public var reportId: String?

        public init(
            reportName: String, jql: String, columns: [String], issues: [JiraIssue], runAt: Date, timeZone: TimeZone,
            siteURL: URL?,
            cappedAt: Int? = nil, reportId: String? = nil
        ) {
            self.reportId = reportId
            self.reportName = reportName
            self.jql = jql
            self.columns = columns
            self.issues = issues
            self.runAt = runAt
            self.timeZone = timeZone
            self.siteURL = siteURL
            self.cappedAt = cappedAt
        }
    }

    public struct Output: Sendable, Equatable {
        public let title: String
        /// The whole page for the create request: head, header paragraph and the first table.
        package let page: String
        /// The header paragraph alone (for a PATCH replace on later runs).
        public let header: String
        /// The first table alone (for a PATCH replace on later runs).
        public let firstTable: String
        /// Further tables, each to append to the body in its own request.
        package let appendedTables: [String]
    }

    let maxPartBytes: Int

    public init(maxPartBytes: Int = 3_500_000) {
        self.maxPartBytes = maxPartBytes
    }

    package func render(_ input: Input) -> Output {
        let title = "\(input.reportName) – Jira report"
        let header = headerParagraph(input)
        let headerRow =
            "<tr>"
            + input.columns.map {
                "<td style=\"background-color:#D9D9D9\"><b>\(Self.escape(Self.label(for: $0)))</b></td>"
            }.joined() + "</tr>"
        let marker =
            input.reportId.map {
                "<p data-id=\"\(Self.escape(Self.markerDataId(reportId: $0)))\" style=\"color:#808080;font-size:8pt\">Kept up to date by OneNote Reports for Jira</p>"
            } ?? ""
        let documentOverhead =
            "<!DOCTYPE html><html><head><title>\(Self.escape(title))</title><meta name=\"created\" content=\"\(Self.isoOffset(input.runAt, input.timeZone))\" /></head><body>\(header)\(marker)</body></html>"

        var tables: [String] = []
        var rows: [String] = []
        var size = 0
        func tableOpen(_ index: Int) -> String {
            "<table data-id=\"\(index == 0 ? Self.tableDataId : "\(Self.tableDataId)-\(index + 1)")\" border=\"1\">"
        }
        func flush() {
            tables.append(tableOpen(tables.count) + headerRow + rows.joined() + "</table>")
            rows.removeAll(keepingCapacity: true)
        }
        for issue in input.issues {
            let row = "<tr>" + input.columns.map { cell(issue, column: $0, input: input) }.joined() + "</tr>"
            let budget = maxPartBytes - (tables.isEmpty ? documentOverhead.utf8.count : 0) - headerRow.utf8.count - 64
            if !rows.isEmpty && size + row.utf8.count > budget {
                flush()
                size = 0
            }
            rows.append(row)
            size += row.utf8.count
        }
        flush()
        let page =
            "<!DOCTYPE html><html><head><title>\(Self.escape(title))</title><meta name=\"created\" content=\"\(Self.isoOffset(input.runAt, input.timeZone))\" /></head><body>\(header)\(marker)\(tables[0])</body></html>"
        return Output(
            title: title, page: page, header: header, firstTable: tables[0], appendedTables: Array(tables.dropFirst()))
    }

    func headerParagraph(_ input: Input) -> String {
        var text = "\(input.reportName) · \(input.issues.count) issue\(input.issues.count == 1 ? "" : "s")"
        if let capped = input.cappedAt { text += " (capped at \(capped))" }
        text += " · updated \(Self.displayDate(input.runAt, input.timeZone)) (\(input.timeZone.identifier))"
        return "<p data-id=\"\(Self.headerDataId)\">\(Self.escape(text))<br/>JQL: <i>\(Self.escape(input.jql))</i></p>"
    }

    func cell(_ issue: JiraIssue, column: String, input: Input) -> String {
        let kind = ReportColumn.named(column)?.kind ?? .text
        if kind == .key {
            guard let site = input.siteURL else { return "<td>\(Self.escape(issue.key))</td>" }
            let link = site.appendingPathComponent("browse").appendingPathComponent(issue.key).absoluteString
            return "<td><a href=\"\(Self.escape(link))\">\(Self.escape(issue.key))</a></td>"
        }
        let value = issue.fields[column] ?? .null
        if kind == .status, let category = value["statusCategory"]?["key"]?.string {
            return
                "<td style=\"background-color:\(Self.statusColour(category))\">\(Self.escape(value["name"]?.string ?? ""))</td>"
        }
        return "<td>\(Self.escape(text(value, kind: kind, timeZone: input.timeZone)))</td>"
    }

    /// A field as plain text: names of objects, lists joined, dates in the report's zone.
    func text(_ value: JiraValue, kind: ReportColumn.Kind, timeZone: TimeZone) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "Yes" : "No"
        case .number(let number):
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .string(let string):
            if kind == .dateTime, let date = Self.parseJiraDate(string) {
                return Self.displayDate(date, timeZone)
            }
            return string
        case .array(let values):
            return values.map { text($0, kind: kind, timeZone: timeZone) }.filter { !$0.isEmpty }.joined(
                separator: ", ")
        case .object(let object):
            for key in ["displayName", "name", "value", "key"] {
                if let string = object[key]?.string { return string }
            }
            return ""
        }
    }

    /// Jira's status category colours (docs/atlassian-apis.md §4: `colorName`), as light cell backgrounds.
    static func statusColour(_ category: String) -> String {
        switch category {
        case "new": "#DFE1E6"  // blue-gray: To Do
        case "indeterminate": "#DEEBFF"  // in progress
        case "done": "#E3FCEF"  // green
        default: "#F4F5F7"  // undefined / no category
        }
    }

    static func label(for column: String) -> String { ReportColumn.named(column)?.label ?? column }

    /// XML-escaped text with characters XML 1.0 cannot carry replaced by U+FFFD.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "\t", "\n", "\r": output.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                let allowed =
                    (value >= 0x20 && value <= 0xD7FF) || (value >= 0xE000 && value <= 0xFFFD) || value >= 0x10000
                output.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return output
    }

    /// docs/atlassian-apis.md §4: `yyyy-MM-dd'T'HH:mm:ss.SSSZ` with `+0000`-style offsets.
    static func parseJiraDate(_ text: String) -> Date? {
        let pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?([+-])(\d{2}):?(\d{2})$/
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard
            let base = calendar.date(
                from: DateComponents(
                    year: Int(match.1), month: Int(match.2), day: Int(match.3), hour: Int(match.4),
                    minute: Int(match.5), second: Int(match.6)))
        else { return nil }
        let offset = (Int(match.9)! * 3600 + Int(match.10)! * 60) * (match.8 == "-" ? -1 : 1)
        let millis = match.7.map { Double("0.\($0)") ?? 0 } ?? 0
        return base.addingTimeInterval(-TimeInterval(offset) + millis)
    }

    /// `2026-03-29 03:15` in the zone.
    static func displayDate(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func pad(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(parts.year ?? 0)-\(pad(parts.month))-\(pad(parts.day)) \(pad(parts.hour)):\(pad(parts.minute))"
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
