import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Atlassian
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// The personal data reporting call against the sandbox over loopback HTTP: what the
/// endpoint refuses, what it answers, and how its cycle period is read.
@Suite("Personal data reporting client")
struct PersonalDataClientTests {
    @Test func theEndpointRefusesWhatTheDocumentsRuleOutAndAnswersOnlyTheAccountsToActOn() async throws {
        try await AtlassianClientTests.withSandbox { _, base, client in
            let minted = try await client.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"trigger":true}"#)
            ).json
            let system = Secret(minted["systemToken"] as! String)
            let url = base.appendingPathComponent("app/report-accounts/")
            let atlassian = AtlassianClientTests.client(base, sleeps: .init())
            let now = Date()

            let quiet = try await atlassian.reportAccounts(
                url: url, systemToken: system, accounts: [("a-1", now), ("a-2", now)])
            #expect(quiet.statuses.isEmpty && quiet.cyclePeriod == .seconds(604_800), "204 and the header")

            _ = try await client.execute(uri: "/sandbox/accounts/a-1/close", method: .post)
            _ = try await client.execute(uri: "/sandbox/accounts/a-2/update", method: .post)
            let answer = try await atlassian.reportAccounts(
                url: url, systemToken: system, accounts: [("a-1", now), ("a-2", now), ("a-3", now)])
            #expect(answer.statuses == ["a-1": "closed", "a-2": "updated"])

            let refused = await #expect(throws: UpstreamError.self) {
                try await atlassian.reportAccounts(
                    url: url, systemToken: Secret("not.a.token"), accounts: [("a-1", now)])
            }
            #expect(refused?.kind == .rejected && refused?.status == 401)

            let tooMany = (0..<91).map { #"{"accountId":"x\#($0)","updatedAt":"2026-12-01T00:00:00.000Z"}"# }
            let big = try await client.execute(
                uri: "/app/report-accounts/", method: .post,
                headers: [.authorization: "Bearer \(system.revealed)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"accounts":[\#(tooMany.joined(separator: ","))]}"#))
            #expect(big.status == .badRequest, "at most 90 accounts a call")
            let undated = try await client.execute(
                uri: "/app/report-accounts/", method: .post,
                headers: [.authorization: "Bearer \(system.revealed)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"accounts":[{"accountId":"a-1"}]}"#))
            #expect(undated.status == .badRequest, "each account needs its time")
        }
    }

    @Test func theCyclePeriodIsReadAsSecondsOrAnISODuration() {
        #expect(AtlassianClient.cyclePeriod("604800") == .seconds(604_800))
        #expect(AtlassianClient.cyclePeriod("P7D") == .seconds(604_800))
        #expect(AtlassianClient.cyclePeriod("PT12H") == .seconds(43_200))
        #expect(AtlassianClient.cyclePeriod("P1DT30M") == .seconds(88_200))
        for junk in ["", "0", "-5", "P", "PT", "7 days", "P1W", "PT5D"] {
            #expect(AtlassianClient.cyclePeriod(junk) == nil, "\(junk)")
        }
    }
}
