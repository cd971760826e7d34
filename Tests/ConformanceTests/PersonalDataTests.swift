import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ReportsTesting
import TestSupport
import Testing

@testable import Atlassian
@testable import Reports
@testable import Sandbox
@testable import Security
@testable import Transport

/// Personal data on both backends: which accounts a site's rows name, erasing a closed one, one
/// worker reporting a site at a time, and the whole cycle against the sandbox's reporting endpoint over
/// loopback HTTP (batches of 90, its cycle period, a 429 without Retry-After).
@Suite("Personal data reporting")
struct PersonalDataTests {
    @Test(arguments: StorageBackend.allCases)
    func aClosedAccountsDataGoesAndEveryoneElsesStays(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let alices = try await stores.reports.create(stores.alice, ReportFixture.definition("Alice's"))
            let alice = PendingConnection(
                owner: stores.alice, microsoftUserId: "ms-a", displayName: "A", microsoftAccount: "a@x")
            let token = try await stores.pending.park(alice, refreshToken: Secret("refresh-a"), browser: "b")
            _ = try await stores.pending.take(token: token.revealed, browser: "b", confirm: true)
            let bob = PendingConnection(
                owner: stores.bob, microsoftUserId: "ms-b", displayName: "B", microsoftAccount: "b@x")
            _ = try await stores.pending.park(bob, refreshToken: Secret("refresh-b"), browser: "c")
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("Eve's, same id, site B"))
            _ = try await stores.runs.requestRun(stores.alice, reportId: alices.id, userToken: nil)

            let stored = try await stores.personalData.storedAccounts(installationId: ReportFixture.installationA)
            #expect(stored.map(\.accountId) == [stores.alice.accountId, stores.bob.accountId])
            #expect(stored.first?.updatedAt == stores.clock.now)

            let erased = try await stores.personalData.eraseAccount(
                installationId: ReportFixture.installationA, accountId: stores.alice.accountId)
            var expected = ErasedRows(installationId: ReportFixture.installationA)
            (expected.reports, expected.runs, expected.jobs, expected.microsoftConnections) = (1, 1, 1, 1)
            #expect(erased == expected)
            #expect(
                try await stores.personalData.storedAccounts(installationId: ReportFixture.installationA)
                    .map(\.accountId) == [stores.bob.accountId])
            #expect(
                try await stores.personalData.storedAccounts(installationId: ReportFixture.installationB)
                    .map(\.accountId) == [stores.eve.accountId], "the same id on another site is another person")
            let left = try await stores.dataLifecycle.rowCounts()
            #expect(left["reports"] == 1 && left["runs"] == 0 && left["jobs"] == 0)
            #expect(left["microsoft_connections"] == 0 && left["oauth_pending_connections"] == 1)
            // The per-user request record goes with the account; Eve (the same id on site B) keeps hers.
            #expect(
                try await stores.integers(
                    "SELECT count(*) FROM user_requests WHERE account_id = '\(stores.alice.accountId)' GROUP BY installation_id"
                ) == [1])
            #expect(left["user_requests"] == 1, "eve's report write on site B")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aSiteIsReportedByOneWorkerAtATime(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let store = stores.personalData
            let both = [ReportFixture.installationA, ReportFixture.installationB]
            #expect(
                Set(try await store.claimAccountReports(now: stores.clock.now, lease: .seconds(3600), limit: 10))
                    == Set(both))
            #expect(
                try await store.claimAccountReports(now: stores.clock.now, lease: .seconds(3600), limit: 10).isEmpty)
            try await store.scheduleAccountReport(
                installationId: ReportFixture.installationA, at: stores.clock.now + 7 * 86_400)
            stores.clock.advance(by: .seconds(3601))
            #expect(
                try await store.claimAccountReports(now: stores.clock.now, lease: .seconds(3600), limit: 10) == [
                    ReportFixture.installationB
                ], "B's claim lapsed; A is due in a week")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func closedAccountsAreErasedThroughTheEndpointInBatchesOfNinety(_ backend: StorageBackend) async throws {
        try await backend.withStores(clockStart: Date()) { stores in
            let state = try await SandboxState(
                seed: 3, issues: 5, msClientId: "sandbox-client", msClientSecret: "sandbox-secret")
            let app = Application(
                router: SandboxApp.router(state), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                logger: silentLogger)
            try await app.test(.live) { client in
                let base = URL(string: "http://127.0.0.1:\(client.port!)")!
                let minted = try await client.execute(
                    uri: "/sandbox/fit", method: .post, body: ByteBuffer(string: #"{"trigger":true}"#)
                ).json
                try await stores.installations.record(
                    ReportFixture.identity(ReportFixture.installationA),
                    systemToken: Secret(minted["systemToken"] as! String))
                for index in 0..<95 {
                    let owner = ReportOwner(installationId: ReportFixture.installationA, accountId: "acct-\(index)")
                    _ = try await stores.reports.create(owner, ReportFixture.definition("R\(index)"))
                }
                for closed in ["acct-7", "acct-93"] {
                    _ = try await client.execute(uri: "/sandbox/accounts/\(closed)/close", method: .post)
                }
                let service = AccountReportingService(
                    store: stores.personalData, tokens: stores.runReportStores,
                    reporter: AtlassianAccountReporter(
                        client: AtlassianClient(
                            graphQLURL: base.appendingPathComponent("graphql"),
                            transport: CurlTransport(policy: .sandbox),
                            sleep: { _ in }),
                        url: base.appendingPathComponent("app/report-accounts/")),
                    interval: .seconds(60), logger: silentLogger, now: { stores.clock.now })
                func ledger() async throws -> [String: Any] {
                    try await client.execute(uri: "/sandbox/personal-data", method: .get).json
                }

                let erased = await service.pass()
                #expect(erased.map(\.reports) == [1, 1], "acct-7 and acct-93")
                let stored = try await stores.personalData.storedAccounts(installationId: ReportFixture.installationA)
                #expect(stored.count == 93 && !stored.contains { ["acct-7", "acct-93"].contains($0.accountId) })
                var seen = try await ledger()
                #expect(seen["calls"] as? Int == 2, "95 accounts: 90, then 5")
                #expect((seen["reported"] as? [String: Int])?.values.allSatisfy { $0 == 1 } == true)
                #expect((seen["reported"] as? [String: Int])?.count == 95)

                // The sandbox asks for a week (its Cycle-Period): nothing is due before. (The clock stays
                // within the sandbox's 4-hour system token: the reporter never sends an expired one.)
                #expect(await service.pass().isEmpty)
                let store = stores.personalData
                let now = stores.clock.now
                #expect(
                    try await store.claimAccountReports(now: now + 6 * 86_400, lease: .seconds(1), limit: 9).isEmpty)
                #expect(
                    try await store.claimAccountReports(now: now + 7 * 86_400 + 1, lease: .seconds(1), limit: 9) == [
                        ReportFixture.installationA
                    ])
                #expect(try await ledger()["calls"] as? Int == 2)
                try await store.scheduleAccountReport(installationId: ReportFixture.installationA, at: now)

                // Throttled without Retry-After: nothing erased, and tried again an hour later, not half an
                // hour later (had the pass not met the 429, the site would still be due).
                _ = try await client.execute(
                    uri: "/sandbox/faults", method: .post,
                    body: ByteBuffer(string: #"{"route":"/app/report-accounts","status":429,"count":50}"#))
                #expect(await service.pass().isEmpty)
                _ = try await client.execute(uri: "/sandbox/faults", method: .delete)
                stores.clock.advance(by: .seconds(1800))
                _ = await service.pass()
                #expect(try await ledger()["calls"] as? Int == 2)
                stores.clock.advance(by: .seconds(1801))
                _ = await service.pass()
                seen = try await ledger()
                #expect(seen["calls"] as? Int == 4, "93 accounts: 90, then 3")
            }
        }
    }
}
