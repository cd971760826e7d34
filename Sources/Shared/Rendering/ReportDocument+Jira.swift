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
    ///
    /// `layout`: the summary, the groups (one section per group, in the layout's order) and children
    /// under their parents; `sprintField`: the site's sprint field, for grouping by sprint;
    /// `lastRun`: what the last successful run showed, for what changed since (with `layout.changes`).
    public init(
        reportName: String, jql: String, columns: [String], catalogue: [String: ReportColumn] = [:],
        issues: [JiraIssue], runAt: Date, timeZone: TimeZone, siteURL: URL?, cappedAt: Int? = nil,
        reportId: String? = nil, layout: PageLayout = .standard, sprintField: String? = nil,
        lastRun: LastRun = .unknown
    ) {
        // With notes, the key leads each row: a note is kept by its row's issue key.
        let columns = layout.notesColumn && columns.first != "key" ? ["key"] + columns.filter { $0 != "key" } : columns
        let described = columns.map { catalogue[$0] ?? ReportColumn.named($0) }
        let kinds = described.map { $0?.kind ?? .text }
        let values = FieldValues(siteURL: siteURL, timeZone: timeZone)
        func row(_ issue: JiraIssue) -> [Cell] {
            zip(columns, kinds).map { column, kind in
                values.cell(
                    issue.fields[column] ?? (kind == .key ? .string(issue.key) : .null), kind: kind,
                    issueKey: issue.key)
            }
        }
        func label(_ id: String) -> String {
            if let known = catalogue[id] { return known.label }
            if !catalogue.isEmpty && ReportColumn.isCustomField(id) { return "\(id) (unavailable)" }
            return ReportColumn.named(id)?.label ?? id
        }
        let labels = columns.map(label)
        let builder = ReportLayoutBuilder(layout: layout, sprintField: sprintField)
        let grouped = layout.groupBy != "none"
        let groups = grouped ? builder.groups(issues) : [(name: "", members: Array(issues.indices))]
        // With changes shown, each row's cells are hashed as the row is built, while they are at hand.
        let comparing = layout.changes && lastRun != .unknown
        // Each group's rows in page order (children under their parents); then every row built at once,
        // on every core (RowWork): a row's cells depend on its issue alone.
        let orders = groups.map { group in
            layout.parentChild ? builder.nested(group.members, issues) : (order: group.members, levels: [])
        }
        let pageOrder = orders.flatMap(\.order)
        let built = RowWork.map(pageOrder.count) { position in
            let issue = issues[pageOrder[position]]
            let cells = row(issue)
            let snapshot =
                comparing
                ? ReportSnapshot.Issue(
                    key: issue.key, status: issue.fields["status"]?["name"]?.string ?? "",
                    cells: cells.map(CellHash.of)) : nil
            return (cells: cells, snapshot: snapshot)
        }
        let current = comparing ? built.compactMap(\.snapshot) : []
        var sections: [Section] = []
        sections.reserveCapacity(groups.count)
        var start = 0
        for (group, (order, levels)) in zip(groups, orders) {
            let sums = group.members.compactMap { builder.sumValue(issues[$0]) }
            let rows = built[start..<(start + order.count)].map(\.cells)
            start += order.count
            sections.append(
                Section(
                    columns: labels, rows: rows,
                    group: grouped
                        ? Group(
                            name: group.name, count: group.members.count, sum: sums.isEmpty ? nil : sums.reduce(0, +))
                        : nil,
                    levels: levels.contains { $0 > 0 } ? levels : [], keys: order.map { issues[$0].key }))
        }
        self.init(
            title: "\(reportName) – Jira report",
            header: Header(
                reportName: reportName, issueCount: issues.count, cappedAt: cappedAt, runAt: runAt,
                timeZone: timeZone, jql: jql),
            summary: layout.summary ? builder.summary(issues) : nil,
            sumLabel: layout.sumField.map(label), notesColumn: layout.notesColumn,
            sections: sections.isEmpty ? [Section(columns: labels, rows: [])] : sections,
            reportId: reportId)
        if comparing { compare(with: lastRun, current: current, columnIds: columns, runAt: runAt) }
    }

    /// `2026-03-29 03:15` in the zone: how a report shows a date-time, in a cell and in its header.
    public static func displayDate(_ date: Date, _ zone: TimeZone) -> String {
        JiraDates.display(secondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)), in: zone)
    }
}
