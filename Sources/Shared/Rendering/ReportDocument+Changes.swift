import Foundation

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
    /// key cell is marked). Also keeps this run's snapshot for the next. `current`: each row's key,
    /// status and cell hashes, in the sections' row order (hashed as the rows were built);
    /// `columnIds`: the sections' columns, as field ids.
    mutating func compare(
        with lastRun: LastRun, current: [ReportSnapshot.Issue], columnIds: [String], runAt: Date
    ) {
        snapshot = ReportSnapshot(takenAt: runAt, columns: columnIds, issues: current)
        guard case .snapshot(let previous) = lastRun else {
            changes = lastRun == .none ? Changes(since: nil) : nil
            return
        }
        // Each last-run issue's place by key, and whether this run still shows it.
        var before: [String: Int] = [:]
        before.reserveCapacity(previous.issues.count)
        for (index, issue) in previous.issues.enumerated() where before[issue.key] == nil { before[issue.key] = index }
        var seen = [Bool](repeating: false, count: previous.issues.count)
        // Each column's place in the last run's columns, by id.
        let previousColumn = Dictionary(previous.columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let mapping = columnIds.map { previousColumn[$0] }
        var changes = Changes(since: previous.takenAt)
        var position = 0
        for index in sections.indices {
            var changed: [Set<Int>] = []
            changed.reserveCapacity(sections[index].rows.count)
            for _ in sections[index].rows.indices {
                let issue = current[position]
                position += 1
                guard let was = before[issue.key] else {
                    changes.added.append(issue.key)
                    changed.append([0])
                    continue
                }
                seen[was] = true
                let old = previous.issues[was]
                if old.status != issue.status {
                    changes.moved.append(.init(key: issue.key, from: old.status, to: issue.status))
                }
                // Most rows have no changed cell: a set is made only for one that has.
                var columns: [Int] = []
                for (column, hash) in issue.cells.enumerated() {
                    if let place = mapping[column], place < old.cells.count, old.cells[place] != hash {
                        columns.append(column)
                    }
                }
                changed.append(columns.isEmpty ? [] : Set(columns))
            }
            sections[index].changed = changed.contains { !$0.isEmpty } ? changed : []
        }
        changes.removed = previous.issues.indices.filter { !seen[$0] }.map { previous.issues[$0].key }
        changes.added = changes.added.naturallySorted()
        changes.removed = changes.removed.naturallySorted()
        changes.moved = changes.moved.map { (NaturalOrder($0.key), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        self.changes = changes
    }
}
