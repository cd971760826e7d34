public import Atlassian
public import Foundation

/// A report's document from a Jira search: one section whose columns are the catalogue's labels
/// (`ReportColumn`) and whose cells are each issue's fields by the column's kind. Pure, no I/O: any
/// value Jira sends becomes text (names of objects, lists joined, date-times in the report's zone),
/// never markup.
extension ReportDocument {
    public init(
        reportName: String, jql: String, columns: [String], issues: [JiraIssue], runAt: Date, timeZone: TimeZone,
        siteURL: URL?, cappedAt: Int? = nil, reportId: String? = nil
    ) {
        let kinds = columns.map { ReportColumn.named($0)?.kind ?? .text }
        let rows = issues.map { issue in
            zip(columns, kinds).map { column, kind in
                Self.cell(issue, column: column, kind: kind, siteURL: siteURL, timeZone: timeZone)
            }
        }
        self.init(
            title: "\(reportName) – Jira report",
            header: Header(
                reportName: reportName, issueCount: issues.count, cappedAt: cappedAt, runAt: runAt,
                timeZone: timeZone, jql: jql),
            sections: [Section(columns: columns.map { ReportColumn.named($0)?.label ?? $0 }, rows: rows)],
            reportId: reportId)
    }

    static func cell(_ issue: JiraIssue, column: String, kind: ReportColumn.Kind, siteURL: URL?, timeZone: TimeZone)
        -> Cell
    {
        if kind == .key {
            guard let siteURL else { return .text(issue.key) }
            return .link(
                issue.key,
                url: siteURL.appendingPathComponent("browse").appendingPathComponent(issue.key).absoluteString)
        }
        let value = issue.fields[column] ?? .null
        if kind == .status, let category = value["statusCategory"]?["key"]?.string {
            return .status(value["name"]?.string ?? "", category: category)
        }
        let text = text(value, kind: kind, timeZone: timeZone)
        return text.isEmpty ? .empty : .text(text)
    }

    /// A field as plain text: names of objects, lists joined, date-times in the report's zone.
    static func text(_ value: JiraValue, kind: ReportColumn.Kind, timeZone: TimeZone) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "Yes" : "No"
        case .number(let number):
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .string(let string):
            if kind == .dateTime, let date = parseJiraDate(string) {
                return displayDate(date, timeZone)
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
}
