import Atlassian
import Foundation

/// The layout's work on a search's issues (docs/report-page.md): the summary's counts, the groups
/// and their order, children under their parents. Pure; every issue ends in exactly one group.
struct ReportLayoutBuilder {
    let layout: PageLayout
    /// The site's sprint field (found by its type in the field list), for `groupBy: sprint`.
    let sprintField: String?

    /// Jira's status categories in the order a board shows them; any other key comes after.
    static let categoryOrder = ["new", "indeterminate", "done"]
    static let noneName = "None"

    // MARK: Summary

    func summary(_ issues: [JiraIssue]) -> ReportDocument.Summary {
        var counts: [String: (name: String, count: Int, sum: Double?)] = [:]
        var total: Double?
        for issue in issues {
            let (key, name) = Self.category(issue)
            var entry = counts[key] ?? (name, 0, nil)
            entry.count += 1
            if let value = sumValue(issue) {
                entry.sum = (entry.sum ?? 0) + value
                total = (total ?? 0) + value
            }
            counts[key] = entry
        }
        let keys = counts.keys.sorted { (Self.categoryRank($0), $0) < (Self.categoryRank($1), $1) }
        return ReportDocument.Summary(
            total: issues.count,
            categories: keys.map { key in
                let entry = counts[key]!
                return .init(key: key, name: entry.name, count: entry.count, sum: entry.sum)
            }, sum: total)
    }

    /// The issue's status category: Jira's key and name; an issue without one counts under "No status".
    static func category(_ issue: JiraIssue) -> (key: String, name: String) {
        let category = issue.fields["status"]?["statusCategory"]
        let key = category?["key"]?.string ?? "undefined"
        let name = category?["name"]?.string ?? (key == "undefined" ? "No status" : key)
        return (key, name)
    }

    static func categoryRank(_ key: String) -> Int { categoryOrder.firstIndex(of: key) ?? categoryOrder.count }

    func sumValue(_ issue: JiraIssue) -> Double? {
        guard let field = layout.sumField, let value = issue.fields[field]?.number, value.isFinite else { return nil }
        return value
    }

    // MARK: Groups

    /// The issues' indices by group, groups in order: by status (category order, then name), by
    /// priority (Jira's priority order, its id), otherwise by name; "None" last.
    func groups(_ issues: [JiraIssue]) -> [(name: String, members: [Int])] {
        var members: [String: [Int]] = [:]
        var rank: [String: (Int, Int)] = [:]
        for (index, issue) in issues.enumerated() {
            let (name, order) = groupName(issue)
            members[name, default: []].append(index)
            if rank[name] == nil { rank[name] = order }
        }
        // Each name read once into its natural order (NaturalOrder), then sorted by rank and that.
        let names = members.keys.map { (name: $0, order: NaturalOrder($0)) }.sorted { left, right in
            if (left.name == Self.noneName) != (right.name == Self.noneName) { return right.name == Self.noneName }
            let (a, b) = (rank[left.name] ?? (0, 0), rank[right.name] ?? (0, 0))
            if a != b { return a < b }
            return left.order < right.order
        }
        return names.map { ($0.name, members[$0.name]!) }
    }

    /// The group an issue belongs to and the rank that orders groups before their names do.
    func groupName(_ issue: JiraIssue) -> (String, (Int, Int)) {
        let none = (Self.noneName, (Int.max, 0))
        switch layout.groupBy {
        case "status":
            guard let name = issue.fields["status"]?["name"]?.string, !name.isEmpty else { return none }
            return (name, (Self.categoryRank(Self.category(issue).key), 0))
        case "statusCategory":
            let (key, name) = Self.category(issue)
            return key == "undefined" ? none : (name, (Self.categoryRank(key), 0))
        case "priority":
            guard let priority = issue.fields["priority"], let name = priority["name"]?.string else { return none }
            return (name, (0, Int(priority["id"]?.string ?? "") ?? Int.max))
        case "parent":
            guard let parent = issue.fields["parent"], let key = parent["key"]?.string else { return none }
            let summary = parent["fields"]?["summary"]?.string ?? ""
            return (summary.isEmpty ? key : "\(key) \(summary)", (0, 0))
        case "sprint":
            // An issue carried over sits in several sprints; it is grouped by its latest.
            guard let field = sprintField, case .array(let sprints)? = issue.fields[field], let last = sprints.last
            else { return none }
            let name = last["name"]?.string ?? ""
            return name.isEmpty ? none : (name, (0, 0))
        default:
            let field = PageLayout.groupings.first { $0.value == layout.groupBy }?.field ?? layout.groupBy
            let name = FieldValues.name(of: issue.fields[field] ?? .null)
            return name.isEmpty ? none : (name, (0, 0))
        }
    }

    // MARK: Parents and children

    /// `members` reordered so each child follows its parent when both are here, with each row's depth
    /// (capped at 3: deeper descendants sit at 3). Order is otherwise kept; a cycle cannot loop.
    func nested(_ members: [Int], _ issues: [JiraIssue]) -> (order: [Int], levels: [Int]) {
        let position = Dictionary(members.map { (issues[$0].key, $0) }, uniquingKeysWith: { first, _ in first })
        var children: [Int: [Int]] = [:]
        var roots: [Int] = []
        for member in members {
            if let parent = issues[member].fields["parent"]?["key"]?.string, let index = position[parent],
                index != member
            {
                children[index, default: []].append(member)
            } else {
                roots.append(member)
            }
        }
        var order: [Int] = []
        var levels: [Int] = []
        var placed = Set<Int>()
        func place(_ index: Int, _ depth: Int) {
            guard placed.insert(index).inserted else { return }
            order.append(index)
            levels.append(min(depth, 3))
            for child in children[index] ?? [] { place(child, depth + 1) }
        }
        for root in roots { place(root, 0) }
        // Members caught in a parent cycle have no root above them: listed at the top, in order.
        for member in members where !placed.contains(member) { place(member, 0) }
        return (order, levels)
    }
}
