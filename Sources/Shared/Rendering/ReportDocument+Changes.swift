public import Foundation

/// What a report's last successful run left to compare with.
public enum LastRun: Sendable, Equatable {
    /// Not known here (a preview, a benchmark): the page says nothing about changes.
    case unknown
    /// The report has not been written yet: the page says this is its first run.
    case none
    case snapshot(ReportSnapshot)
}

extension ReportDocument {
    /// Compares the document's rows with the last run's (docs/report-page.md, "What changed"): issues
    /// new to the report and those that left (in key order), status moves, and per row the columns
    /// whose value changed (by column id, so a column added or moved is not a change; a new issue's
    /// key cell is marked). Also keeps this run's snapshot for the next. `columnIds`: the sections'
    /// columns, as field ids; `statuses`: each issue's status name by key.
    mutating func compare(with lastRun: LastRun, columnIds: [String], statuses: [String: String], runAt: Date) {
        var current: [ReportSnapshot.Issue] = []
        for index in sections.indices {
            let section = sections[index]
            current.reserveCapacity(current.count + section.rows.count)
            for (row, cells) in section.rows.enumerated() where row < section.keys.count {
                let key = section.keys[row]
                current.append(.init(key: key, status: statuses[key] ?? "", cells: cells.map(ReportSnapshot.hash)))
            }
        }
        snapshot = ReportSnapshot(takenAt: runAt, columns: columnIds, issues: current)
        guard case .snapshot(let previous) = lastRun else {
            changes = lastRun == .none ? Changes(since: nil) : nil
            return
        }
        let before = Dictionary(previous.issues.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        // Each column's place in the last run's columns, by id.
        let previousColumn = Dictionary(previous.columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let mapping = columnIds.map { previousColumn[$0] }
        var changes = Changes(since: previous.takenAt)
        var seen = Set<String>()
        var position = 0
        for index in sections.indices {
            var changed: [Set<Int>] = []
            changed.reserveCapacity(sections[index].rows.count)
            for _ in sections[index].rows.indices {
                let issue = current[position]
                position += 1
                seen.insert(issue.key)
                guard let old = before[issue.key] else {
                    changes.added.append(issue.key)
                    changed.append([0])
                    continue
                }
                if old.status != issue.status {
                    changes.moved.append(.init(key: issue.key, from: old.status, to: issue.status))
                }
                var columns = Set<Int>()
                for (column, hash) in issue.cells.enumerated() {
                    if let was = mapping[column], was < old.cells.count, old.cells[was] != hash {
                        columns.insert(column)
                    }
                }
                changed.append(columns)
            }
            sections[index].changed = changed.contains { !$0.isEmpty } ? changed : []
        }
        changes.removed = previous.issues.map(\.key).filter { !seen.contains($0) }
        for list in [\Changes.added, \Changes.removed] {
            changes[keyPath: list].sort { $0.localizedStandardCompare($1) == .orderedAscending }
        }
        changes.moved.sort { $0.key.localizedStandardCompare($1.key) == .orderedAscending }
        self.changes = changes
    }
}
