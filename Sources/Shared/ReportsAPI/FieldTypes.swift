import Atlassian
import Rendering

/// What the column picker offers: every standard column and every custom field of the site the user
/// can see, by the site's name, each with a type the editor names in words (docs/jira-fields.md).
enum FieldTypes {
    static let maxListed = 100

    /// The fields matching `query` (case-insensitive, in the name or the id; all when empty): the
    /// standard columns first, in the catalogue's order, then custom fields by name.
    static func choices(_ listed: [JiraField], matching query: String) -> ([FieldListResponse.Field], Bool) {
        let byId = Dictionary(listed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let standard = ReportColumn.standardIds.map { id in
            FieldListResponse.Field(
                id: id, name: ReportColumn.named(id)?.label ?? id,
                type: byId[id].map(code) ?? (id == "key" ? "key" : "text"), custom: false)
        }
        let custom =
            listed
            .filter { ReportColumn.isCustomField($0.id) }
            .map { FieldListResponse.Field(id: $0.id, name: $0.name, type: code($0), custom: true) }
            .sorted { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
        let needle = query.lowercased()
        let matching = (standard + custom).filter {
            needle.isEmpty || $0.name.lowercased().contains(needle) || $0.id.lowercased().contains(needle)
        }
        return (Array(matching.prefix(maxListed)), matching.count > maxListed)
    }

    /// A stable word for the field's type: `number`, `date`, `datetime`, `user`, `users`, `option`,
    /// `options`, `cascading`, `sprint`, `labels`, `version`, `versions`, `url`, `richtext`, `issue`,
    /// `duration`, `count`, `status`, `text`.
    static func code(_ field: JiraField) -> String {
        let schema = field.schema
        let custom = schema?.custom ?? ""
        if custom.hasSuffix(":gh-sprint") { return "sprint" }
        if custom.hasSuffix(":cascadingselect") { return "cascading" }
        if custom.hasSuffix(":labels") { return "labels" }
        switch ReportColumn.Kind.of(
            schemaType: schema?.type, items: schema?.items, system: schema?.system, custom: schema?.custom)
        {
        case .number: return "number"
        case .date: return "date"
        case .dateTime: return "datetime"
        case .url: return "url"
        case .richText: return "richtext"
        case .issue: return "issue"
        case .duration: return "duration"
        case .count: return "count"
        case .status: return "status"
        case .key: return "key"
        case .text: break
        }
        switch (schema?.type ?? "", schema?.items ?? "") {
        case ("user", _): return "user"
        case ("array", "user"): return "users"
        case ("option", _): return "option"
        case ("array", "option"): return "options"
        case ("option-with-child", _): return "cascading"
        case ("array", "string"): return "labels"
        case ("version", _): return "version"
        case ("array", "version"): return "versions"
        default: return "text"
        }
    }
}
