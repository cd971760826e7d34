import Foundation

/// How a report's page is laid out around its columns (docs/report-page.md): a summary at the top,
/// groups with their counts and subtotals, children under their parents. Stored with the report as
/// JSON; every field has a default, so a report saved before these options existed reads as the
/// standard layout.
public struct PageLayout: Sendable, Equatable, Codable {
    /// Total issues and counts by status category (with `sumField`'s sum, when one is chosen).
    public var summary: Bool
    /// A numeric field (story points, an estimate) summed overall, per status category and per group.
    public var sumField: String?
    /// `none`, one of `PageLayout.groupings`, or a field id of the site (a single-value field).
    public var groupBy: String
    /// Children listed under their parent when both are in the result, inside a group.
    public var parentChild: Bool
    /// A last column, "Notes", for people to type into at the destination; kept through every refresh
    /// (the issue key is then the first column, so a note knows its row).
    public var notesColumn: Bool
    /// Under the summary, what changed since the last successful run (new issues, issues that left,
    /// status moves), and each changed cell highlighted.
    public var changes: Bool

    public init(
        summary: Bool = true, sumField: String? = nil, groupBy: String = "none", parentChild: Bool = false,
        notesColumn: Bool = false, changes: Bool = true
    ) {
        self.summary = summary
        self.sumField = sumField
        self.groupBy = groupBy
        self.parentChild = parentChild
        self.notesColumn = notesColumn
        self.changes = changes
    }

    public static let standard = PageLayout()

    /// The layout as stored: JSON with sorted keys (under 400 bytes: `sumField` and `groupBy` are
    /// field ids or the names above).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        summary = try container.decodeIfPresent(Bool.self, forKey: .summary) ?? true
        sumField = try container.decodeIfPresent(String.self, forKey: .sumField)
        groupBy = try container.decodeIfPresent(String.self, forKey: .groupBy) ?? "none"
        parentChild = try container.decodeIfPresent(Bool.self, forKey: .parentChild) ?? false
        notesColumn = try container.decodeIfPresent(Bool.self, forKey: .notesColumn) ?? false
        changes = try container.decodeIfPresent(Bool.self, forKey: .changes) ?? true
    }

    /// The groupings offered by name, besides any single-value field of the site: the API's value and
    /// the Jira field each reads. `sprint` is the site's sprint field, found by its type.
    public static let groupings: [(value: String, label: String, field: String?)] = [
        ("none", "No groups", nil),
        ("status", "Status", "status"),
        ("statusCategory", "Status category", "status"),
        ("assignee", "Assignee", "assignee"),
        ("priority", "Priority", "priority"),
        ("issuetype", "Issue type", "issuetype"),
        ("parent", "Parent or epic", "parent"),
        ("sprint", "Sprint", nil),
        ("fixVersions", "Fix version", "fixVersions"),
        ("components", "Component", "components"),
    ]

    /// Whether `groupBy` names a grouping this layout knows (a named one or a field id).
    public static func isGrouping(_ value: String) -> Bool {
        groupings.contains { $0.value == value } || ReportColumn.isCustomField(value)
            || ReportColumn.named(value) != nil
    }

    /// The Jira fields a run must read besides its columns for this layout: the status (the summary's
    /// categories, the status order of groups), the sum, the grouping's field, the parent.
    public func extraFields(sprintField: String?) -> [String] {
        var fields: [String] = []
        if summary || changes || groupBy == "status" || groupBy == "statusCategory" { fields.append("status") }
        if let sumField { fields.append(sumField) }
        if let grouping = Self.groupings.first(where: { $0.value == groupBy }) {
            if let field = grouping.field { fields.append(field) }
            if grouping.value == "sprint", let sprintField { fields.append(sprintField) }
        } else if groupBy != "none" {
            fields.append(groupBy)
        }
        if parentChild { fields.append("parent") }
        var seen = Set<String>()
        return fields.filter { seen.insert($0).inserted }
    }
}
