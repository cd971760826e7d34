public import Atlassian
public import Foundation
public import Security

/// An Atlassian account the service stores data for on one site, and when that data last changed: what
/// Atlassian's personal data reporting API is told (docs/upstream-notes.md, "Personal data reporting").
public struct StoredAccount: Sendable, Equatable {
    let accountId: String
    let updatedAt: Date

    public init(accountId: String, updatedAt: Date) {
        self.accountId = accountId
        self.updatedAt = updatedAt
    }
}

/// The stores' side of personal data reporting, per backend.
public protocol PersonalDataStore: Sendable {
    /// Takes up to `limit` sites whose account report is due at `now`, moving their next report to
    /// `now + lease` so that another worker does not take them meanwhile (the report sets the real
    /// next time when it ends).
    func claimAccountReports(now: Date, lease: Duration, limit: Int) async throws -> [String]
    /// Every account the site's rows name, with the newest time one of those rows changed.
    func storedAccounts(installationId: String) async throws -> [StoredAccount]
    /// When the site's accounts are next reported.
    func scheduleAccountReport(installationId: String, at: Date) async throws
    /// Deletes what is stored for a closed account on a site: its reports with their runs and jobs,
    /// its Microsoft connection and tokens, and connections waiting for its confirmation.
    func eraseAccount(installationId: String, accountId: String) async throws -> ErasedRows
}

/// What Atlassian answered about a batch of accounts.
public struct AccountReportAnswer: Sendable, Equatable {
    public enum Status: String, Sendable {
        case closed
        case updated
    }

    /// Only the accounts that need something done; the others are fine.
    var statuses: [String: Status]
    /// When to report again, if the endpoint said.
    var cyclePeriod: Duration?

    public init(statuses: [String: Status], cyclePeriod: Duration?) {
        self.statuses = statuses
        self.cyclePeriod = cyclePeriod
    }
}

/// The call itself (AtlassianClient in production): at most `maxAccountsPerCall` accounts per call.
public protocol AccountReporting: Sendable {
    func reportAccounts(systemToken: Secret, accounts: [StoredAccount]) async throws -> AccountReportAnswer
}

/// The endpoint takes at most this many accounts per call (Forge's Privacy API splits larger lists).
let maxAccountsPerCall = 90

/// The endpoint through `AtlassianClient` (its 429/503 handling included).
public struct AtlassianAccountReporter: AccountReporting {
    let client: AtlassianClient
    let url: URL

    public init(client: AtlassianClient, url: URL) {
        self.client = client
        self.url = url
    }

    public func reportAccounts(systemToken: Secret, accounts: [StoredAccount]) async throws -> AccountReportAnswer {
        let answer = try await client.reportAccounts(
            url: url, systemToken: systemToken, accounts: accounts.map { ($0.accountId, $0.updatedAt) })
        return AccountReportAnswer(
            statuses: answer.statuses.compactMapValues(AccountReportAnswer.Status.init(rawValue:)),
            cyclePeriod: answer.cyclePeriod)
    }
}
