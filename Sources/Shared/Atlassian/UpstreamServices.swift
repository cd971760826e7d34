public import Upstream

// How Atlassian's failures are reported (UpstreamError.classify gives every upstream the same classes).
extension UpstreamService {
    /// The editor's live reads with the user token Forge forwarded.
    public static let jira = UpstreamService(
        name: "Jira", unauthorizedMeansReconnect: false, forbiddenCode: "jira_forbidden",
        forbiddenMessage: "Jira refused the user's token", unavailableCode: "jira_unavailable",
        rejectedCode: "jira_rejected")

    /// A run's search and filter reads with the report owner's token.
    public static let jiraForOwner = UpstreamService(
        name: "Jira", unauthorizedMeansReconnect: false, forbiddenCode: "jira_forbidden",
        forbiddenMessage: "Jira refused the report owner's token", unavailableCode: "jira_unavailable",
        rejectedCode: "jira_rejected")

    /// The GraphQL gateway that mints offline user tokens.
    public static let offlineTokens = UpstreamService(
        name: "Atlassian's offline token service", unauthorizedMeansReconnect: false,
        forbiddenCode: "offline_token_failed", forbiddenMessage: "Atlassian refused the offline user token request",
        unavailableCode: "offline_token_failed", rejectedCode: "offline_token_failed")

    /// Atlassian's personal data reporting API.
    public static let personalData = UpstreamService(
        name: "Atlassian's personal data reporting API", unauthorizedMeansReconnect: false,
        forbiddenCode: "personal_data_refused", forbiddenMessage: "Atlassian refused the personal data report",
        unavailableCode: "personal_data_unavailable", rejectedCode: "personal_data_rejected")
}
