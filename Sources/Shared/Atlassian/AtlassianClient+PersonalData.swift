public import Foundation
import ReportsSupport
public import Security
import Transport
import Upstream

/// Atlassian's personal data reporting API (docs/upstream-notes.md, "Personal data
/// reporting"). Documented through Forge's Privacy API, which wraps `/report-accounts`: accounts with the
/// time their data was stored, at most 90 a call, answered with the accounts that are `closed` or
/// `updated`. UNCONFIRMED for a Forge remote, hence configurable or tolerant: the URL
/// (`ATLASSIAN_PERSONAL_DATA_URL`), the token (the site's system token), the envelope
/// (`{"accounts": [...]}` both ways, 204 when nothing needs doing) and the `Cycle-Period` header's unit.
extension AtlassianClient {
    public struct AccountsAnswer: Sendable, Equatable {
        /// accountId → "closed" or "updated", for the accounts that need something done.
        public var statuses: [String: String]
        public var cyclePeriod: Duration?
    }

    public func reportAccounts(
        url: URL, systemToken: Secret, accounts: [(accountId: String, updatedAt: Date)]
    ) async throws -> AccountsAnswer {
        precondition(accounts.count <= 90, "the endpoint takes at most 90 accounts a call")
        let body = JSONText.serialize(
            [
                "accounts": accounts.map {
                    [
                        "accountId": $0.accountId,
                        "updatedAt": Timestamp.iso8601(milliseconds: Timestamp.milliseconds($0.updatedAt)),
                    ]
                }
            ], escapeAngleBrackets: false)
        let response = try await send(
            .postingJSON(body, to: url, systemToken: systemToken), service: "atlassian_personal_data")
        let cycle = response.header("Cycle-Period").flatMap(Self.cyclePeriod)
        if response.status == 204 { return AccountsAnswer(statuses: [:], cyclePeriod: cycle) }
        guard response.status == 200 else {
            throw UpstreamError.classify(response, service: .personalData, detail: "HTTP \(response.status)")
        }
        struct Envelope: Decodable {
            struct Account: Decodable {
                let accountId: String
                let status: String
            }
            let accounts: [Account]?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: response.body) else {
            throw UpstreamError(
                kind: .transient, code: "personal_data_unreadable",
                message: "Atlassian's personal data reporting answer could not be read")
        }
        var statuses: [String: String] = [:]
        for account in envelope.accounts ?? [] where ["closed", "updated"].contains(account.status) {
            statuses[account.accountId] = account.status
        }
        return AccountsAnswer(statuses: statuses, cyclePeriod: cycle)
    }

    /// `Cycle-Period`: a number (taken as seconds: UNCONFIRMED) or an ISO 8601 duration of days, hours,
    /// minutes or seconds (`P7D`, `PT12H`). Anything else: nil, and the caller's default applies.
    static func cyclePeriod(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces).uppercased()
        if let seconds = Int(text), seconds > 0 { return .seconds(seconds) }
        guard text.hasPrefix("P") else { return nil }
        var total = 0
        var number = ""
        var inTime = false
        for character in text.dropFirst() {
            if character.isNumber {
                number.append(character)
                continue
            }
            if character == "T" && number.isEmpty {
                inTime = true
                continue
            }
            guard let value = Int(number) else { return nil }
            number = ""
            switch (character, inTime) {
            case ("D", false): total += value * 86_400
            case ("H", true): total += value * 3_600
            case ("M", true): total += value * 60
            case ("S", true): total += value
            default: return nil
            }
        }
        return number.isEmpty && total > 0 ? .seconds(total) : nil
    }
}
