import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Enqueuer
@testable import Reports
@testable import ReportsAPI
@testable import SQLiteBackend
@testable import Sandbox
@testable import Security

/// The app system token against the sandbox's Atlassian, which answers an unknown token with a GraphQL
/// 401 as Atlassian does.
@Suite("Atlassian system token: who may set it, and what a refused one does")
struct SystemTokenTests {
    @Test func aTokenAtlassianRefusesIsDroppedAndTheRunWaitsForAFreshOne() async throws {
        try await PipelineHarness.run(seed: 31, issues: 10, fastWriter: true) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            let installation = harness.state.installationId
            func stored() async throws -> String? {
                try await harness.runReportStores.systemToken(installationId: installation)?.token.revealed
            }

            // A user's call carrying a junk token with a far expiry changes nothing (it is not Forge's call).
            let genuine = try await stored()
            let junk = "h.\(Base64URL.encode(Data(#"{"exp":4102444800}"#.utf8))).s"
            var forged = try await harness.headers()
            forged[FITMiddleware.systemTokenHeader] = junk
            #expect(try await client.execute(uri: "/v1/me", method: .get, headers: forged).status == .ok)
            #expect(try await stored() == genuine)

            // A token Atlassian refuses (here one Forge's trigger delivered, but revoked or not Atlassian's)
            // is dropped at the first GraphQL 401, and the run says a fresh one is awaited.
            var trigger = try await harness.triggerHeaders()
            trigger[FITMiddleware.systemTokenHeader] = junk
            #expect(try await client.execute(uri: "/forge/trigger", method: .post, headers: trigger).status == .ok)
            #expect(try await stored() == junk)
            let refused = try await harness.run(client, reportId)
            #expect(refused["status"] as? String == "failed", "\(refused)")
            #expect((refused["error"] as? [String: Any])?["code"] as? String == "system_token_awaited", "\(refused)")
            #expect(try await stored() == nil, "the refused token is gone")

            // The next trigger brings a good one, and runs work again.
            #expect(
                try await client.execute(
                    uri: "/forge/trigger", method: .post, headers: try await harness.triggerHeaders()
                ).status == .ok)
            let recovered = try await harness.run(client, reportId)
            #expect(recovered["status"] as? String == "succeeded", "\(recovered)")
        }
    }

    @Test func aRunWhoseForwardedTokenNoKeyOpensUsesAnOfflineToken() async throws {
        // A Run now sealed its forwarded user token under a key that is gone by the
        // time the job runs (rotated and dropped). The run still succeeds, through the offline token.
        try await PipelineHarness.run(seed: 32, issues: 10, fastWriter: true) { harness, client in
            try await harness.installAndConnect(client)
            let reportId = try await harness.createReport(client, jql: "project = OPS ORDER BY key")
            let owner = ReportOwner(installationId: harness.state.installationId, accountId: "sandbox-user-1")
            let dropped = TokenVault(keys: TokenKeyRing(keys: [("dropped-key", SymmetricKey(size: .bits256))]))
            let sealedElsewhere = harness.makeRuns(dropped)
            let minted = try await harness.sandbox.execute(
                uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"accountId":"sandbox-user-1"}"#)
            ).json
            guard
                case .queued(let run) = try await sealedElsewhere.requestRun(
                    owner, reportId: reportId, userToken: Secret(minted["userToken"] as! String))
            else {
                Issue.record("the run was not queued")
                return
            }
            var last: [String: Any] = [:]
            _ = try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
                last = try await client.execute(
                    uri: "/v1/runs/\(run.id)", method: .get, headers: try await harness.headers()
                ).json
                return ["succeeded", "failed"].contains(last["status"] as? String ?? "")
            }
            #expect(last["status"] as? String == "succeeded", "\(last)")
            let offline =
                try await harness.sandbox.execute(uri: "/sandbox/counters", method: .get).json["graphql"] as? Int ?? 0
            #expect(offline >= 1, "an offline token was minted instead")
        }
    }
}
