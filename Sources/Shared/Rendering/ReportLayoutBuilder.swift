import Atlassian
import Foundation

/// The layout's work on a search's issues (docs/report-page.md): the summary's counts, the groups
/// and their order, children under their parents. Pure; every issue ends in exactly one group.
struct ReportLayoutBuilder {
    let layout: PageLayout
    /// The site's sprint field (found by its type in the field list), for `groupBy: sprint`.
    let sprintField: String?
    /// What `groupBy` groups by, read once (not once per issue).
    private let grouping: Grouping

    /// The kinds of grouping: those with an order of their own, and a field's values by name.
    private enum Grouping {
        case status, statusCategory, priority, parent, sprint
        case byName(field: String)
    }

    init(layout: PageLayout, sprintField: String?) {
        self.layout = layout
        self.sprintField = sprintField
        switch layout.groupBy {
        case "status": grouping = .status
        case "statusCategory": grouping = .statusCategory
        case "priority": grouping = .priority
        case "parent": grouping = .parent
        case "sprint": grouping = .sprint
        default:
            let field = PageLayout.groupings.first { $0.value == layout.groupBy }?.field ?? layout.groupBy
            grouping = .byName(field: field)
        }
    }

    /// Jira's status categories in the order a board shows them; any other key comes after.
    static let categoryOrder = ["new", "indeterminate", "done"]
    static let noneName = "None"

    // MARK: Summary

    func summary(_ issues: [JiraIssue]) -> ReportDocument.Summary {
        // A site has a handful of status categories: found in a short list, not by hashing each key.
        var categories: [ReportDocument.Summary.Category] = []
        var total: Double?
        for issue in issues {
            let (key, name) = Self.category(issue)
            let index =
                categories.firstIndex { $0.key == key }
                ?? {
                    categories.append(.init(key: key, name: name, count: 0, sum: nil))
                    return categories.count - 1
                }()
            categories[index].count += 1
            if let value = sumValue(issue) {
                categories[index].sum = (categories[index].sum ?? 0) + value
                total = (total ?? 0) + value
            }
        }
        categories.sort { (Self.categoryRank($0.key), $0.key) < (Self.categoryRank($1.key), $1.key) }
        return ReportDocument.Summary(total: issues.count, categories: categories, sum: total)
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
        // Each name's group found by one hash; the group keeps the rank of its first issue.
        var found: [String: Int] = [:]
        var groups: [(name: String, rank: (Int, Int), members: [Int])] = []
        for (index, issue) in issues.enumerated() {
            let (name, order) = groupName(issue)
            if let group = found[name] {
                groups[group].members.append(index)
            } else {
                found[name] = groups.count
                groups.append((name, order, [index]))
            }
        }
        // Each name read once into its natural order (NaturalOrder), then sorted by rank and that.
        let sorted = groups.map { (group: $0, order: NaturalOrder($0.name)) }.sorted { left, right in
            let (leftNone, rightNone) = (left.group.name == Self.noneName, right.group.name == Self.noneName)
            if leftNone != rightNone { return rightNone }
            let (a, b) = (left.group.rank, right.group.rank)
            if a != b { return a < b }
            return left.order < right.order
        }
        return sorted.map { ($0.group.name, $0.group.members) }
    }

    /// The group an issue belongs to and the rank that orders groups before their names do.
    func groupName(_ issue: JiraIssue) -> (String, (Int, Int)) {
        let none = (Self.noneName, (Int.max, 0))
        switch grouping {
        case .status:
            guard let name = issue.fields["status"]?["name"]?.string, !name.isEmpty else { return none }
            return (name, (Self.categoryRank(Self.category(issue).key), 0))
        case .statusCategory:
            let (key, name) = Self.category(issue)
            return key == "undefined" ? none : (name, (Self.categoryRank(key), 0))
        case .priority:
            guard let priority = issue.fields["priority"], let name = priority["name"]?.string else { return none }
            return (name, (0, Int(priority["id"]?.string ?? "") ?? Int.max))
        case .parent:
            guard let parent = issue.fields["parent"], let key = parent["key"]?.string else { return none }
            let summary = parent["fields"]?["summary"]?.string ?? ""
            return (summary.isEmpty ? key : "\(key) \(summary)", (0, 0))
        case .sprint:
            // An issue carried over sits in several sprints; it is grouped by its latest.
            guard let field = sprintField, case .array(let sprints)? = issue.fields[field], let last = sprints.last
            else { return none }
            let name = last["name"]?.string ?? ""
            return name.isEmpty ? none : (name, (0, 0))
        case .byName(let field):
            let name = FieldValues.name(of: issue.fields[field] ?? .null)
            return name.isEmpty ? none : (name, (0, 0))
        }
    }

    // MARK: Parents and children

    /// `members` reordered so each child follows its parent when both are here, with each row's depth
    /// (capped at 3: deeper descendants sit at 3). Order is otherwise kept; a cycle cannot loop.
    func nested(_ members: [Int], _ issues: [JiraIssue]) -> (order: [Int], levels: [Int]) {
        // Members are worked on by their place in `members` (arrays, not dictionaries of indices).
        var position: [String: Int] = [:]
        position.reserveCapacity(members.count)
        for (place, member) in members.enumerated() where position[issues[member].key] == nil {
            position[issues[member].key] = place
        }
        var children = [[Int]](repeating: [], count: members.count)
        var roots: [Int] = []
        for (place, member) in members.enumerated() {
            if let parent = issues[member].fields["parent"]?["key"]?.string, let parentPlace = position[parent],
                parentPlace != place
            {
                children[parentPlace].append(place)
            } else {
                roots.append(place)
            }
        }
        var order: [Int] = []
        var levels: [Int] = []
        order.reserveCapacity(members.count)
        levels.reserveCapacity(members.count)
        var placed = [Bool](repeating: false, count: members.count)
        func visit(_ place: Int, _ depth: Int) {
            guard !placed[place] else { return }
            placed[place] = true
            order.append(members[place])
            levels.append(min(depth, 3))
            for child in children[place] { visit(child, depth + 1) }
        }
        for root in roots { visit(root, 0) }
        // Members caught in a parent cycle have no root above them: listed at the top, in order.
        for place in members.indices where !placed[place] { visit(place, 0) }
        return (order, levels)
    }
}
