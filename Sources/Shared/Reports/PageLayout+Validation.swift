import Rendering

extension PageLayout {
    /// The layout's first problem, at the field the API names (`layout.groupBy`, `layout.sumField`).
    func check() throws(ReportValidationError) {
        guard Self.isGrouping(groupBy) else {
            throw .init(
                field: "layout.groupBy",
                "'\(groupBy.prefix(40))' is not a grouping (use none, status, statusCategory, assignee, priority, issuetype, parent, sprint, fixVersions, components or a field id)"
            )
        }
        if let sumField, ReportColumn.named(sumField) == nil {
            throw .init(
                field: "layout.sumField", "'\(sumField.prefix(40))' is not a Jira field id (e.g. customfield_10016)")
        }
    }
}
