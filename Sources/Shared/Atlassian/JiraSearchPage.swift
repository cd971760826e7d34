package import Foundation

/// One page of an enhanced JQL search (docs/atlassian-apis.md §4): its issues, the token of the next
/// page, and whether it is the last. Read with `JiraJSON`; nil when the answer is not JSON or not in
/// this shape (an issue without a string id, `issues` not a list, a token that is not a string), as
/// the `Decodable` page it replaces refused the same answers.
package struct JiraSearchPage {
    package let issues: [JiraIssue]
    package let nextPageToken: String?
    package let isLast: Bool?

    package init?(_ body: Data) {
        guard case .object(let page)? = try? JiraJSON.parse(body), case .array(let list)? = page["issues"] else {
            return nil
        }
        var issues: [JiraIssue] = []
        issues.reserveCapacity(list.count)
        for value in list {
            guard let issue = JiraIssue(value) else { return nil }
            issues.append(issue)
        }
        switch page["nextPageToken"] {
        case .string(let token)?: nextPageToken = token
        case nil, .null?: nextPageToken = nil
        default: return nil
        }
        switch page["isLast"] {
        case .bool(let last)?: isLast = last
        case nil, .null?: isLast = nil
        default: return nil
        }
        self.issues = issues
    }
}
