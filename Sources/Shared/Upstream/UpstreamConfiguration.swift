public import Foundation
public import ReportsSupport
public import Security
public import Transport

/// Where the upstream services are, and the Microsoft app's credentials, from the
/// variables docs/operations.md "Configuration" lists.
public struct UpstreamConfiguration: Sendable {
    public var microsoftClientId: String
    public var microsoftClientSecret: Secret
    public var microsoftRedirectURI: URL
    public var microsoftLoginBaseURL: URL
    public var microsoftGraphBaseURL: URL
    public var atlassianGraphQLURL: URL
    /// Atlassian's personal data reporting endpoint (UNCONFIRMED for a Forge remote:
    /// docs/upstream-notes.md).
    public var atlassianPersonalDataURL: URL
    var policy: OutboundURLPolicy

    /// The configuration spelled out (tests and benchmarks; processes read `init(environment:…)`).
    package init(
        microsoftClientId: String, microsoftClientSecret: Secret, microsoftRedirectURI: URL,
        microsoftLoginBaseURL: URL = URL(string: "https://login.microsoftonline.com")!,
        microsoftGraphBaseURL: URL = URL(string: "https://graph.microsoft.com")!,
        atlassianGraphQLURL: URL = URL(string: "https://api.atlassian.com/graphql")!,
        atlassianPersonalDataURL: URL = URL(string: "https://api.atlassian.com/app/report-accounts/")!,
        policy: OutboundURLPolicy = .production
    ) {
        self.microsoftClientId = microsoftClientId
        self.microsoftClientSecret = microsoftClientSecret
        self.microsoftRedirectURI = microsoftRedirectURI
        self.microsoftLoginBaseURL = microsoftLoginBaseURL
        self.microsoftGraphBaseURL = microsoftGraphBaseURL
        self.atlassianGraphQLURL = atlassianGraphQLURL
        self.atlassianPersonalDataURL = atlassianPersonalDataURL
        self.policy = policy
    }

    /// `requireRedirectURI` is false for workers, which never start a connect flow.
    public init(environment: [String: String], policy: OutboundURLPolicy, requireRedirectURI: Bool = true)
        throws(ConfigurationError)
    {
        func required(_ name: String) throws(ConfigurationError) -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigurationError(variable: name, problem: "is not set")
            }
            return value
        }
        func url(_ name: String, default fallback: String?) throws(ConfigurationError) -> URL {
            let text = environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            guard let text else { throw ConfigurationError(variable: name, problem: "is not set") }
            guard let url = URL(string: text), policy.permits(url) else {
                throw ConfigurationError(
                    variable: name, problem: "must be an https:// URL (http:// to loopback only with REPORTS_SANDBOX=1)"
                )
            }
            return url
        }
        let clientId = try required("MS_CLIENT_ID")
        guard clientId.count <= 100, clientId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw ConfigurationError(variable: "MS_CLIENT_ID", problem: "must be the application (client) id, a GUID")
        }
        self.init(
            microsoftClientId: clientId,
            microsoftClientSecret: Secret(try required("MS_CLIENT_SECRET")),
            microsoftRedirectURI: try url(
                "MS_REDIRECT_URI", default: requireRedirectURI ? nil : "https://localhost/unused"),
            microsoftLoginBaseURL: try url("MS_LOGIN_BASE_URL", default: "https://login.microsoftonline.com"),
            microsoftGraphBaseURL: try url("MS_GRAPH_BASE_URL", default: "https://graph.microsoft.com"),
            atlassianGraphQLURL: try url("ATLASSIAN_GRAPHQL_URL", default: "https://api.atlassian.com/graphql"),
            atlassianPersonalDataURL: try url(
                "ATLASSIAN_PERSONAL_DATA_URL", default: "https://api.atlassian.com/app/report-accounts/"),
            policy: policy)
    }
}
