import Foundation

/// The site's fields (docs/jira-fields.md), as `GET /rest/api/3/field` lists them: the system fields
/// and custom fields of every kind a report shows, with a value for each seeded issue that carries
/// them. `customfield_10042` is listed only for user 1, and the search gives user 2 no value of it, as
/// Jira does for a field outside a user's field configuration.
enum SandboxFields {
    struct Field: Sendable {
        let id: String
        let name: String
        /// The schema's entries (`type`, `items`, `system`, `custom`), as strings.
        let schema: [String: String]
        /// Only these accounts see it (nil: everyone).
        var visibleTo: Set<String>? = nil

        /// The schema as Jira writes it, with a custom field's numeric `customId`.
        var schemaJSON: [String: Any] {
            var json: [String: Any] = schema
            if id.hasPrefix("customfield_"), let number = Int(id.dropFirst("customfield_".count)) {
                json["customId"] = number
            }
            return json
        }
    }

    static func custom(_ number: Int, _ name: String, _ type: String, items: String? = nil, plugin: String) -> Field {
        var schema = ["type": type, "custom": plugin]
        if let items { schema["items"] = items }
        return Field(id: "customfield_\(number)", name: name, schema: schema)
    }

    static let system = "com.atlassian.jira.plugin.system.customfieldtypes:"

    /// Sixteen custom fields, one per kind of value, and one hidden from user 2.
    static let customFields: [Field] = [
        custom(10016, "Story points", "number", plugin: system + "float"),
        custom(10020, "Sprint", "array", items: "json", plugin: "com.pyxis.greenhopper.jira:gh-sprint"),
        custom(10021, "Team", "option", plugin: system + "select"),
        custom(10022, "Platforms", "array", items: "option", plugin: system + "multiselect"),
        custom(10023, "Region", "option-with-child", plugin: system + "cascadingselect"),
        custom(10024, "Reviewers", "array", items: "user", plugin: system + "multiuserpicker"),
        custom(10025, "Approver", "user", plugin: system + "userpicker"),
        custom(10026, "Target date", "date", plugin: system + "datepicker"),
        custom(10027, "Deployed at", "datetime", plugin: system + "datetime"),
        custom(10028, "Runbook", "string", plugin: system + "url"),
        custom(10029, "Release notes", "string", plugin: system + "textarea"),
        custom(10030, "Tags", "array", items: "string", plugin: system + "labels"),
        custom(10031, "Fix build", "version", plugin: system + "version"),
        custom(10032, "Epic Link", "any", plugin: "com.pyxis.greenhopper.jira:gh-epic-link"),
        custom(10033, "Customer", "string", plugin: system + "textfield"),
        custom(10034, "Effort (hours)", "number", plugin: system + "float"),
        {
            var field = custom(10042, "Budget code", "string", plugin: system + "textfield")
            field.visibleTo = [SeedData.user1.accountId]
            return field
        }(),
    ]

    static let systemFields: [Field] = [
        Field(id: "summary", name: "Summary", schema: ["type": "string", "system": "summary"]),
        Field(id: "status", name: "Status", schema: ["type": "status", "system": "status"]),
        Field(id: "assignee", name: "Assignee", schema: ["type": "user", "system": "assignee"]),
        Field(id: "description", name: "Description", schema: ["type": "string", "system": "description"]),
        Field(id: "created", name: "Created", schema: ["type": "datetime", "system": "created"]),
        Field(id: "updated", name: "Updated", schema: ["type": "datetime", "system": "updated"]),
        Field(id: "labels", name: "Labels", schema: ["type": "array", "items": "string", "system": "labels"]),
        Field(id: "timespent", name: "Time Spent", schema: ["type": "number", "system": "timespent"]),
    ]

    /// The list as `accountId` sees it, in the shape of Jira's field list.
    static func list(for accountId: String) -> [[String: Any]] {
        (systemFields + customFields).filter { $0.visibleTo?.contains(accountId) ?? true }.map { field in
            [
                "id": field.id, "key": field.id, "name": field.name, "custom": field.id.hasPrefix("customfield_"),
                "orderable": true, "navigable": true, "searchable": true,
                "clauseNames": field.id.hasPrefix("customfield_")
                    ? ["cf[\(field.id.dropFirst("customfield_".count))]", field.name] : [field.id],
                "schema": field.schemaJSON,
            ]
        }
    }

    static func isVisible(_ id: String, to accountId: String?) -> Bool {
        guard let field = customFields.first(where: { $0.id == id }) else { return true }
        return field.visibleTo.map { accountId.map($0.contains) ?? false } ?? true
    }

    static let sprintStates = ["closed", "active", "future"]

    /// The value of custom field `id` for the seeded issue numbered `index` (every third issue has
    /// none, as issues without a value show in Jira); nil when the field is not one of ours.
    static func value(_ id: String, index: Int, accounts: [SeedData.Account]) -> Any? {
        guard customFields.contains(where: { $0.id == id }) else { return nil }
        if index % 3 == 2 { return NSNull() }
        let user = { (account: SeedData.Account) -> [String: Any] in
            ["accountId": account.accountId, "displayName": account.displayName, "active": true]
        }
        switch id {
        case "customfield_10016": return [1, 2, 3, 5, 8, 0.5][index % 6]
        case "customfield_10020":
            // Every issue was in a closed sprint; some are in the active one, some planned for the next.
            var sprints: [[String: Any]] = [
                ["id": 11, "name": "Sprint 11", "state": "closed", "boardId": 3, "goal": "Ship billing"]
            ]
            let current = ["id": 12, "name": "Sprint 12", "state": "active", "boardId": 3] as [String: Any]
            let next = ["id": 13, "name": "Sprint 13", "state": "future", "boardId": 3] as [String: Any]
            sprints.append(index % 2 == 0 ? current : next)
            return sprints
        case "customfield_10021":
            return ["value": ["Platform", "Payments", "Growth"][index % 3], "id": "\(10100 + index % 3)"]
        case "customfield_10022": return [["value": "iOS"], ["value": "Web"]].prefix(1 + index % 2).map { $0 }
        case "customfield_10023":
            return [
                "value": "Europe", "id": "10200", "child": ["value": ["Berlin", "Lisbon"][index % 2], "id": "10201"],
            ]
        case "customfield_10024": return accounts.prefix(2).map(user)
        case "customfield_10025": return user(accounts[index % accounts.count])
        case "customfield_10026": return "2026-0\(1 + index % 9)-1\(index % 10)"
        case "customfield_10027": return "2026-03-29T01:\(10 + index % 50):00.000+0000"
        case "customfield_10028": return "https://runbooks.example.com/service-\(index)?tab=alerts&x=<1>"
        case "customfield_10029": return releaseNotes(index)
        case "customfield_10030": return ["team-\(index % 4)", "hostile<&>"]
        case "customfield_10031":
            return ["name": "2.\(index % 5)", "id": "\(10300 + index % 5)", "released": index % 2 == 0]
        case "customfield_10032": return "OPS-\(1 + index % 3)"
        case "customfield_10033": return ["Acme & Sons", "Globex <GmbH>", "Initech"][index % 3]
        case "customfield_10034": return [1_234_567.5, 0.1 + 0.2, 42][index / 3 % 3]
        case "customfield_10042": return "BUD-\(index)"
        default: return nil
        }
    }

    /// The system fields beyond the basics, for an issue: estimates, versions, votes, watchers,
    /// attachments and links in Jira's shapes.
    static func systemValues(_ issue: SeedData.Issue, include: (String) -> Bool, into fields: inout [String: Any]) {
        let n = issue.id % 6
        if include("environment") {
            fields["environment"] = [
                "type": "doc", "version": 1,
                "content": [
                    ["type": "paragraph", "content": [["type": "text", "text": "Chrome \(120 + n) on macOS"]]]
                ],
            ]
        }
        if include("timeoriginalestimate") { fields["timeoriginalestimate"] = n * 14_400 }
        if include("timeestimate") { fields["timeestimate"] = n * 7_200 }
        if include("timetracking") {
            fields["timetracking"] =
                n == 0
                ? [String: Any]()
                : [
                    "originalEstimate": "\(n)d", "remainingEstimate": "\(n)h", "timeSpent": "\(n * 2)h",
                    "originalEstimateSeconds": n * 28_800, "remainingEstimateSeconds": n * 3_600,
                    "timeSpentSeconds": n * 7_200,
                ]
        }
        if include("versions") { fields["versions"] = n < 2 ? [] : [["name": "2.\(n)", "id": "1030\(n)"]] }
        if include("votes") { fields["votes"] = ["votes": n, "hasVoted": false] }
        if include("watches") { fields["watches"] = ["watchCount": n + 1, "isWatching": n == 0] }
        if include("attachment") {
            fields["attachment"] = (0..<(n % 3)).map { ["filename": "log-\($0).txt", "mimeType": "text/plain"] }
        }
        if include("issuelinks") {
            fields["issuelinks"] =
                n % 2 == 0
                ? []
                : [
                    [
                        "type": ["name": "Blocks", "inward": "is blocked by", "outward": "blocks"],
                        "outwardIssue": ["key": "OPS-1"],
                    ]
                ]
        }
    }

    /// Rich text with every kind of node, and hostile text inside it.
    static func releaseNotes(_ index: Int) -> [String: Any] {
        func text(_ value: String, _ marks: [[String: Any]] = []) -> [String: Any] {
            marks.isEmpty ? ["type": "text", "text": value] : ["type": "text", "text": value, "marks": marks]
        }
        func paragraph(_ content: [[String: Any]]) -> [String: Any] { ["type": "paragraph", "content": content] }
        return [
            "type": "doc", "version": 1,
            "content": [
                ["type": "heading", "attrs": ["level": 2], "content": [text("Release \(index)")]],
                paragraph([
                    text("Ask "),
                    ["type": "mention", "attrs": ["id": SeedData.user1.accountId, "text": "@Sandbox User One"]],
                    text(" before "), text("Friday", [["type": "strong"]]), text(" — see "),
                    text("the runbook", [["type": "link", "attrs": ["href": "https://runbooks.example.com"]]]),
                    text(" "), ["type": "emoji", "attrs": ["shortName": ":rocket:", "text": "🚀"]], text(" "),
                    ["type": "status", "attrs": ["text": "In review", "color": "blue"]],
                ]),
                [
                    "type": "bulletList",
                    "content": [
                        ["type": "listItem", "content": [paragraph([text("</td><script>alert(1)</script>")])]],
                        [
                            "type": "listItem",
                            "content": [
                                paragraph([
                                    text("a link to ", []),
                                    text("nowhere", [["type": "link", "attrs": ["href": "javascript:alert(1)"]]]),
                                ])
                            ],
                        ],
                    ],
                ],
                ["type": "codeBlock", "content": [text("deploy --env prod\n  --check")]],
            ],
        ]
    }
}
