public import Atlassian
public import Foundation

/// A report's document from a Jira search: one section whose columns are the catalogue's labels
/// (`ReportColumn`) and whose cells are each issue's fields as Jira shows them (`FieldValues`, by the
/// column's kind). Pure, no I/O: any value Jira sends becomes a cell (text, a link, a status, formatted
/// text), never markup from Jira.
extension ReportDocument {
    /// `catalogue`: the site's fields by id (their names and kinds, from Jira's field list); a column
    /// it does not hold is a standard column or, failing that, its id read by its values' shapes. A
    /// custom field a known catalogue lacks (deleted, or hidden from the user) is headed by its id and
    /// "(unavailable)", and its cells stay empty: the run goes on.
    public init(
        reportName: String, jql: String, columns: [String], catalogue: [String: ReportColumn] = [:],
        issues: [JiraIssue], runAt: Date, timeZone: TimeZone, siteURL: URL?, cappedAt: Int? = nil,
        reportId: String? = nil
    ) {
        let described = columns.map { catalogue[$0] ?? ReportColumn.named($0) }
        let kinds = described.map { $0?.kind ?? .text }
        let values = FieldValues(siteURL: siteURL, timeZone: timeZone)
        let rows = issues.map { issue in
            zip(columns, kinds).map { column, kind in
                values.cell(
                    issue.fields[column] ?? (kind == .key ? .string(issue.key) : .null), kind: kind,
                    issueKey: issue.key)
            }
        }
        self.init(
            title: "\(reportName) – Jira report",
            header: Header(
                reportName: reportName, issueCount: issues.count, cappedAt: cappedAt, runAt: runAt,
                timeZone: timeZone, jql: jql),
            sections: [
                Section(
                    columns: zip(columns, described).map { id, column in
                        if let known = catalogue[id] { return known.label }
                        if !catalogue.isEmpty && ReportColumn.isCustomField(id) { return "\(id) (unavailable)" }
                        return column?.label ?? id
                    }, rows: rows)
            ],
            reportId: reportId)
    }

    /// `2026-03-29 03:15` in the zone: how a report shows a date-time, in a cell and in its header.
    public static func displayDate(_ date: Date, _ zone: TimeZone) -> String {
        JiraDates.display(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)), in: zone)
    }
}
