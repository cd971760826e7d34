import Foundation

/// Deterministic data from `--seed`: the same seed gives the same issues, filters and notebooks.
struct SeedData: Sendable {
    struct Account: Sendable {
        let accountId: String
        let displayName: String
    }

    struct StatusValue: Sendable {
        let id: String
        let name: String
        let categoryId: Int
        let categoryKey: String
        let colorName: String
        let categoryName: String
    }

    struct Issue: Sendable {
        let id: Int
        let key: String
        let project: String
        let summary: String
        let status: StatusValue
        let assignee: Account?
        let reporter: Account
        let priority: String
        let issueType: String
        let created: Int64
        let updated: Int64
        let labels: [String]
        /// Only these accounts may see it (nil: everyone): impersonation is observable.
        let visibleTo: Set<String>?
    }

    struct Filter: Sendable {
        let id: String
        let name: String
        let jql: String
        let owner: String
        /// Shared filters are visible to every account.
        let shared: Bool
    }

    /// The two documented accounts (fixed interface); user 1 sees issues user 2 cannot.
    static let user1 = Account(accountId: "sandbox-user-1", displayName: "Sandbox User One")
    static let user2 = Account(accountId: "sandbox-user-2", displayName: "Sandbox User Two")
    /// A Jira administrator of the sandbox site ("Administer Jira"): the account that sees the app's
    /// admin page. Owns no issue; sees what everyone may see.
    static let siteAdmin = Account(accountId: "sandbox-admin", displayName: "Sandbox Site Admin")
    static let projects = ["OPS", "WEB"]

    /// Every status category Jira has (docs/atlassian-apis.md §4 sample: new, indeterminate, done; plus the
    /// undefined category).
    static let statuses = [
        StatusValue(
            id: "10000", name: "To Do", categoryId: 2, categoryKey: "new", colorName: "blue-gray", categoryName: "To Do"
        ),
        StatusValue(
            id: "3", name: "In Progress", categoryId: 4, categoryKey: "indeterminate", colorName: "yellow",
            categoryName: "In Progress"),
        StatusValue(
            id: "10001", name: "Done", categoryId: 3, categoryKey: "done", colorName: "green", categoryName: "Done"),
        StatusValue(
            id: "10002", name: "Triage", categoryId: 1, categoryKey: "undefined", colorName: "medium-gray",
            categoryName: "No Category"),
    ]

    /// Text a renderer must escape or survive.
    static let hostileSummaries = [
        "<script>alert('owned')</script> in the login form",
        "Tom & Jerry's \"quoted\" <b>bold</b> release",
        "Emoji 🎉🚀 and combining é (e\u{301}) in the title",
        "نص عربي من اليمين إلى اليسار: fix the RTL layout",
        "Close tag </table></td> and <img src=x onerror=alert(1)>",
        "Ampersands && pipes || and a bare < sign",
        String(repeating: "A very long summary that goes on. ", count: 300).prefix(10_000).description,
    ]

    var issues: [Issue]
    let filters: [Filter]
    let accounts: [Account]

    /// `archiveIssues`: that many more issues in project ARC, each with a long summary — a report of
    /// them is too big for one OneNote request (the demo's multi-part page). OPS and WEB are unchanged.
    /// `extraFilters`: that many more shared filters ("Team filter N", owned by user 2), for paging.
    /// `extraAccounts`: that many more Jira accounts (`sandbox-user-3`, …) the app may act as; the
    /// issues and filters are the same (tests of many users).
    init(seed: UInt64, issueCount: Int, archiveIssues: Int = 0, extraFilters: Int = 0, extraAccounts: Int = 0) {
        var random = SeedRandom(seed: seed)
        let accounts = [Self.user1, Self.user2]
        var issues: [Issue] = []
        var counters = ["OPS": 0, "WEB": 0]
        let base: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
        for index in 0..<issueCount {
            let project = Self.projects[index % 2]
            counters[project, default: 0] += 1
            let hostile = index % 5 == 0
            let summary =
                hostile
                ? Self.hostileSummaries[(index / 5) % Self.hostileSummaries.count]
                : "\(["Fix", "Add", "Improve", "Remove", "Investigate"][random.next(5)]) \(["login", "report export", "page sync", "search", "settings"][random.next(5)]) (\(project)-\(counters[project]!))"
            let created = base + Int64(index) * 3_600_000
            issues.append(
                Issue(
                    id: 10_000 + index, key: "\(project)-\(counters[project]!)", project: project, summary: summary,
                    status: Self.statuses[(index / 2) % Self.statuses.count],
                    assignee: index % 3 == 2 ? nil : accounts[random.next(2)],
                    reporter: accounts[index % 2],
                    priority: ["Highest", "High", "Medium", "Low"][random.next(4)],
                    issueType: ["Bug", "Task", "Story"][random.next(3)],
                    created: created, updated: created + Int64(random.next(72)) * 3_600_000,
                    labels: index % 4 == 0 ? ["customer", "q\(index % 4 + 1)"] : [],
                    visibleTo: index % 3 == 1 ? [Self.user1.accountId] : nil))
        }
        let archiveBase = base - Int64(archiveIssues) * 3_600_000
        for number in 1...max(archiveIssues, 1) where archiveIssues > 0 {
            let summary =
                "Archived decision record \(number): "
                + String(repeating: "context, options considered, outcome and follow-ups; ", count: 12)
            let created = archiveBase + Int64(number) * 3_600_000
            issues.append(
                Issue(
                    id: 10_000 + issueCount + number, key: "ARC-\(number)", project: "ARC", summary: summary,
                    status: Self.statuses[2], assignee: accounts[number % 2], reporter: accounts[(number + 1) % 2],
                    priority: "Low", issueType: "Task",
                    created: created, updated: created, labels: ["archive"], visibleTo: nil))
        }
        self.issues = issues
        self.accounts =
            accounts + [Self.siteAdmin]
            + (0..<extraAccounts).map {
                Account(accountId: "sandbox-user-\($0 + 3)", displayName: "Sandbox User \($0 + 3)")
            }
        filters =
            [
                Filter(
                    id: "10000", name: "My open OPS issues",
                    jql: "project = OPS AND assignee = currentUser() ORDER BY key", owner: Self.user1.accountId,
                    shared: false),
                Filter(
                    id: "10001", name: "Web work in progress",
                    jql: "project = WEB AND status = \"In Progress\" ORDER BY updated DESC",
                    owner: Self.user1.accountId, shared: true),
                Filter(
                    id: "10002", name: "All OPS issues", jql: "project = OPS ORDER BY key", owner: Self.user2.accountId,
                    shared: true),
                Filter(
                    id: "10003", name: "User two's private filter", jql: "project = WEB ORDER BY key",
                    owner: Self.user2.accountId, shared: false),
            ]
            + (0..<max(extraFilters, 0)).map { index in
                Filter(
                    id: "\(11_000 + index)", name: String(format: "Team filter %04d", index + 1),
                    jql: "project = OPS ORDER BY key",
                    owner: Self.user2.accountId, shared: true)
            }
    }

    func account(_ accountId: String) -> Account? { accounts.first { $0.accountId == accountId } }
}

/// SplitMix64: tiny, seedable, the same everywhere.
struct SeedRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(_ upperBound: Int) -> Int { Int(nextUInt64() % UInt64(upperBound)) }
}
