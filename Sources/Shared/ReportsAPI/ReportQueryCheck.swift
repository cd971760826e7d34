import Atlassian
import Foundation
import HTTPTypes
import Reports
import Security
import Upstream

/// A report's query checked with Jira before the report is saved (docs/atlassian-apis.md §9), as the
/// user saving it: JQL Jira cannot parse or validate, and a saved filter that no longer exists or is
/// not shared with them, are 422 `invalid_jql` at the field, with Jira's own message once. Without the
/// check such a report was saved and failed at its first run.
struct ReportQueryCheck {
    let jira: JiraClient

    /// At most this much of Jira's messages is shown.
    static let maxMessageLength = 500

    /// Throws the API's answer when the query is refused; returns when Jira accepts it.
    func check(_ query: ReportDefinition.Query, context: APIRequestContext) async throws {
        let (identity, token) = try context.forwardedUser()
        do {
            switch query {
            case .jql(let jql):
                let errors = try await jira.jqlErrors(apiBaseUrl: identity.apiBaseUrl, userToken: token, jql: jql)
                if !errors.isEmpty { throw Self.refusal(field: "jql", errors) }
            case .filter(let id):
                guard
                    let jql = try await jira.filterJQL(apiBaseUrl: identity.apiBaseUrl, userToken: token, filterId: id)
                else {
                    throw Self.refusal(
                        field: "filterId", ["this saved filter no longer exists or is not shared with you"])
                }
                let errors = try await jira.jqlErrors(apiBaseUrl: identity.apiBaseUrl, userToken: token, jql: jql)
                if !errors.isEmpty {
                    throw Self.refusal(field: "filterId", errors, after: "the saved filter's query: ")
                }
            }
        } catch let error as UpstreamError where error.code == "jira_forbidden" {
            throw APIError(.forbidden, error.code, error.message)
        } catch let error as UpstreamError {
            throw APIRoutes.upstream(error)
        }
    }

    /// `field: text`, Jira's messages joined by a space, cut at `maxMessageLength`.
    static func refusal(field: String, _ messages: [String], after lead: String = "") -> APIError {
        var text = lead + messages.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: " ")
        if text.unicodeScalars.count > maxMessageLength {
            text = String(String.UnicodeScalarView(text.unicodeScalars.prefix(maxMessageLength - 1))) + "…"
        }
        return APIError(.unprocessableContent, "invalid_jql", "\(field): \(text)")
    }
}
