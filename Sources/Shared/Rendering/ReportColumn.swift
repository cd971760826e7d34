/// The one catalogue of the columns a report may show: the Jira field id a report stores, the label a
/// page's header row and the editor show, and the kind of value that decides how a cell is written.
///
/// Validation (`ReportDefinition`), the renderer, docs/openapi.yaml (the `columns` enum) and the Custom
/// UI's words (`deploy/forge/static/reports/words.js`) are all tested against this list
/// (`ReportColumnCatalogueTests`), so a column added here and nowhere else fails a test.
/// Custom fields are any `customfield_<1–10 digits>`; their label is their id.
public struct ReportColumn: Sendable, Hashable {
    /// How a cell of the column is written.
    public enum Kind: String, Sendable, Hashable {
        /// The issue key, linked to the issue on the site.
        case key
        /// The status name on its status category's colour.
        case status
        /// A Jira date-time, shown in the report's time zone.
        case dateTime
        /// Any other value: names of objects, lists joined, text as it is.
        case text
    }

    let id: String
    public let label: String
    public let kind: Kind

    /// The Jira system fields a report may show, in the order the editor offers them.
    static let standard: [ReportColumn] = [
        ReportColumn(id: "key", label: "Key", kind: .key),
        ReportColumn(id: "summary", label: "Summary", kind: .text),
        ReportColumn(id: "status", label: "Status", kind: .status),
        ReportColumn(id: "assignee", label: "Assignee", kind: .text),
        ReportColumn(id: "reporter", label: "Reporter", kind: .text),
        ReportColumn(id: "priority", label: "Priority", kind: .text),
        ReportColumn(id: "issuetype", label: "Issue type", kind: .text),
        ReportColumn(id: "created", label: "Created", kind: .dateTime),
        ReportColumn(id: "updated", label: "Updated", kind: .dateTime),
        ReportColumn(id: "duedate", label: "Due date", kind: .text),
        ReportColumn(id: "resolution", label: "Resolution", kind: .text),
        ReportColumn(id: "resolutiondate", label: "Resolved", kind: .dateTime),
        ReportColumn(id: "labels", label: "Labels", kind: .text),
        ReportColumn(id: "components", label: "Components", kind: .text),
        ReportColumn(id: "fixVersions", label: "Fix versions", kind: .text),
        ReportColumn(id: "project", label: "Project", kind: .text),
        ReportColumn(id: "parent", label: "Parent", kind: .text),
    ]

    private static let byId = Dictionary(uniqueKeysWithValues: standard.map { ($0.id, $0) })

    /// The column with this id: a standard column, a custom field (labelled by its id), or nil.
    public static func named(_ id: String) -> ReportColumn? {
        if let column = byId[id] { return column }
        return isCustomField(id) ? ReportColumn(id: id, label: id, kind: .text) : nil
    }

    /// `customfield_` and 1 to 10 ASCII digits.
    static func isCustomField(_ id: String) -> Bool {
        guard id.hasPrefix("customfield_") else { return false }
        let digits = id.utf8.dropFirst("customfield_".utf8.count)
        return (1...10).contains(digits.count)
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
