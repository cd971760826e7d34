/// The one catalogue of the columns a report may show: the Jira field id a report stores, the label a
/// page's header row and the editor show, and the kind of value that decides how a cell is written.
///
/// Validation (`ReportDefinition`), the renderer, docs/openapi.yaml (the `columns` enum) and the Custom
/// UI's words (`deploy/forge/static/reports/words.js`) are all tested against this list
/// (`ReportColumnCatalogueTests`), so a column added here and nowhere else fails a test.
/// Custom fields are any `customfield_<1–10 digits>`; their label is their id.
public struct ReportColumn: Sendable, Hashable {
    /// How a cell of the column is written (docs/jira-fields.md): what the value is, so it is shown as
    /// Jira shows it. A value that does not have the shape its kind expects is read by its shape.
    public enum Kind: String, Sendable, Hashable {
        /// The issue key, linked to the issue on the site.
        case key
        /// The status name on its status category's colour.
        case status
        /// A Jira date-time, shown in the report's time zone.
        case dateTime
        /// A day (no time, no zone), shown as it is.
        case date
        case number
        /// Seconds of work, in Jira's words (`1w 2d 3h`).
        case duration
        /// A web address, linked.
        case url
        /// An issue (a parent, an epic link): its key and summary, linked.
        case issue
        /// A list shown as how many it holds (attachments).
        case count
        /// Rich text (Atlassian Document Format), formatted.
        case richText
        /// Anything else: names of objects (users, options, versions, sprints), lists joined.
        case text

        /// The kind of a field from its schema in the site's field list (`GET /rest/api/3/field`,
        /// docs/jira-fields.md): `type`, `items`, and the `system` or `custom` type that refines them.
        public static func of(schemaType type: String?, items: String?, system: String?, custom: String?) -> Kind {
            switch (type ?? "", items ?? "", system ?? "") {
            case ("status", _, _): return .status
            case ("datetime", _, _): return .dateTime
            case ("date", _, _): return .date
            case ("number", _, let system)
            where [
                "timeoriginalestimate", "timeestimate", "timespent", "aggregatetimeoriginalestimate",
                "aggregatetimeestimate", "aggregatetimespent",
            ].contains(system):
                return .duration
            case ("number", _, _): return .number
            case ("array", "attachment", _): return .count
            case (_, _, "parent"): return .issue
            case (_, _, "description"), (_, _, "environment"): return .richText
            default: break
            }
            let customType = custom ?? ""
            if customType.hasSuffix(":url") { return .url }
            if customType.hasSuffix(":textarea") { return .richText }
            if customType.hasSuffix(":gh-epic-link") { return .issue }
            return .text
        }
    }

    let id: String
    public let label: String
    public let kind: Kind

    public init(id: String, label: String, kind: Kind) {
        self.id = id
        self.label = label
        self.kind = kind
    }

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
        ReportColumn(id: "duedate", label: "Due date", kind: .date),
        ReportColumn(id: "resolution", label: "Resolution", kind: .text),
        ReportColumn(id: "resolutiondate", label: "Resolved", kind: .dateTime),
        ReportColumn(id: "labels", label: "Labels", kind: .text),
        ReportColumn(id: "components", label: "Components", kind: .text),
        ReportColumn(id: "fixVersions", label: "Fix versions", kind: .text),
        ReportColumn(id: "project", label: "Project", kind: .text),
        ReportColumn(id: "parent", label: "Parent", kind: .issue),
        ReportColumn(id: "description", label: "Description", kind: .richText),
        ReportColumn(id: "environment", label: "Environment", kind: .richText),
        ReportColumn(id: "timetracking", label: "Time tracking", kind: .text),
        ReportColumn(id: "timeoriginalestimate", label: "Original estimate", kind: .duration),
        ReportColumn(id: "timeestimate", label: "Remaining estimate", kind: .duration),
        ReportColumn(id: "timespent", label: "Time spent", kind: .duration),
        ReportColumn(id: "versions", label: "Affects versions", kind: .text),
        ReportColumn(id: "votes", label: "Votes", kind: .text),
        ReportColumn(id: "watches", label: "Watchers", kind: .text),
        ReportColumn(id: "attachment", label: "Attachments", kind: .count),
        ReportColumn(id: "issuelinks", label: "Linked issues", kind: .text),
    ]

    private static let byId = Dictionary(uniqueKeysWithValues: standard.map { ($0.id, $0) })

    /// The column with this id: a standard column, a custom field (labelled by its id), or nil.
    public static func named(_ id: String) -> ReportColumn? {
        if let column = byId[id] { return column }
        return isCustomField(id) ? ReportColumn(id: id, label: id, kind: .text) : nil
    }

    /// The standard columns' ids, in the order the editor offers them.
    public static var standardIds: [String] { standard.map(\.id) }

    /// True for one of the standard columns (their labels and kinds are the catalogue's own).
    public static func isStandard(_ id: String) -> Bool { byId[id] != nil }

    /// `customfield_` and 1 to 10 ASCII digits.
    public static func isCustomField(_ id: String) -> Bool {
        guard id.hasPrefix("customfield_") else { return false }
        let digits = id.utf8.dropFirst("customfield_".utf8.count)
        return (1...10).contains(digits.count)
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
