import Foundation
import ReportsTesting
import TestSupport
import Testing

@testable import Reports
@testable import Security

/// `enqueuer tenant export` on both backends: a site's document holds its
/// installation, connections (confirmed and waiting), reports and runs, and nothing of another site;
/// a person's holds only what is theirs; no token, key or ciphertext is in either.
@Suite("Tenant export")
struct TenantExportTests {
    @Test(arguments: StorageBackend.allCases)
    func aSiteOrAPersonGetsWhatIsStoredForThemAndNoSecret(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let systemToken = Secret("h.\(Base64URL.encode(Data(#"{"exp":1800003600}"#.utf8))).system-secret")
            try await stores.installations.record(
                ReportFixture.identity(ReportFixture.installationA), systemToken: systemToken)
            let alice = PendingConnection(
                owner: stores.alice, microsoftUserId: "ms-alice", displayName: "Alice A", microsoftAccount: "a@x")
            let token = try await stores.pending.park(alice, refreshToken: Secret("refresh-alice"), browser: "b")
            _ = try await stores.pending.take(token: token.revealed, browser: "b", confirm: true)
            let bob = PendingConnection(
                owner: stores.bob, microsoftUserId: "ms-bob", displayName: "Bob B", microsoftAccount: "b@x")
            _ = try await stores.pending.park(bob, refreshToken: Secret("refresh-bob"), browser: "c")
            let alicesReport = try await stores.reports.create(stores.alice, ReportFixture.definition("Alice's"))
            let bobsReport = try await stores.reports.create(stores.bob, ReportFixture.definition("Bob's"))
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("Eve's, another site"))
            let run = try #require(
                try await stores.runs.requestRun(
                    stores.alice, reportId: alicesReport.id, userToken: Secret("forwarded-user-token")
                ).run)

            let site = try await stores.tenantExport.export(
                installationId: ReportFixture.installationA, accountId: nil)
            #expect(site.scope == .init(installationId: ReportFixture.installationA, accountId: nil))
            #expect(site.exportedAt == stores.clock.now)
            let installation = try #require(site.installation)
            #expect(installation.id == ReportFixture.installationA && installation.systemTokenStored)
            #expect(site.microsoftConnections.map(\.accountId) == [stores.alice.accountId])
            #expect(site.microsoftConnections.first?.displayName == "Alice A")
            #expect(site.microsoftConnections.first?.status == "active")
            #expect(site.pendingMicrosoftConnections.map(\.microsoftAccount) == ["b@x"])
            #expect(Set(site.reports.map(\.id)) == [alicesReport.id, bobsReport.id])
            #expect(site.reports.first { $0.id == alicesReport.id }?.columns == alicesReport.definition.columns)
            #expect(site.runs.map(\.id) == [run.id] && site.runs.first?.status == "queued")

            let person = try await stores.tenantExport.export(
                installationId: ReportFixture.installationA, accountId: stores.alice.accountId)
            #expect(person.microsoftConnections.map(\.accountId) == [stores.alice.accountId])
            #expect(person.pendingMicrosoftConnections.isEmpty)
            #expect(person.reports.map(\.id) == [alicesReport.id])
            #expect(person.runs.map(\.id) == [run.id])
            let bobs = try await stores.tenantExport.export(
                installationId: ReportFixture.installationA, accountId: stores.bob.accountId)
            #expect(bobs.reports.map(\.id) == [bobsReport.id] && bobs.runs.isEmpty)
            #expect(bobs.pendingMicrosoftConnections.map(\.displayName) == ["Bob B"])

            // The same account id on another site is another person's data.
            let eve = try await stores.tenantExport.export(
                installationId: ReportFixture.installationB, accountId: stores.eve.accountId)
            #expect(eve.reports.map(\.name) == ["Eve's, another site"] && eve.runs.isEmpty)
            #expect(eve.microsoftConnections.isEmpty && eve.installation?.systemTokenStored == false)
            #expect(
                try await stores.tenantExport.export(
                    installationId: "ari:cloud:ecosystem::installation/none", accountId: nil
                )
                .isEmpty)

            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            let text = String(decoding: try encoder.encode(site), as: UTF8.self)
            for secret in ["system-secret", "refresh-alice", "refresh-bob", "forwarded-user-token", "ciphertext"] {
                #expect(!text.contains(secret), "the export holds \(secret)")
            }
        }
    }

    /// The operator's command prints the same document, for a person, through a real process.
    @Test(arguments: StorageBackend.allCases)
    func theCommandPrintsTheDocument(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition("Alice's"))
            _ = try await stores.reports.create(stores.bob, ReportFixture.definition("Bob's"))
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let printed = try await ChildProcess.run(
                "enqueuer",
                [
                    "tenant", "export", "--installation", ReportFixture.installationA, "--account",
                    stores.alice.accountId,
                ],
                environment: ["REPORTS_DATABASE": stores.location, "REPORTS_LOG_LEVEL": "error"], in: directory)
            #expect(printed.status == 0, "\(printed.output)")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(printed.output.utf8)) as? [String: Any], "\(printed.output)"
            )
            let reports = try #require(document["reports"] as? [[String: Any]])
            #expect(reports.map { $0["id"] as? String } == [report.id])
            #expect((document["scope"] as? [String: Any])?["accountId"] as? String == stores.alice.accountId)
            #expect((document["installation"] as? [String: Any])?["systemTokenStored"] as? Bool == false)

            let nobody = try await ChildProcess.run(
                "enqueuer", ["tenant", "export", "--installation", "ari:cloud:ecosystem::installation/none"],
                environment: ["REPORTS_DATABASE": stores.location, "REPORTS_LOG_LEVEL": "error"], in: directory)
            #expect(nobody.status == 0 && nobody.output.contains("nothing is stored for this installation"))
            #expect(
                nobody.output.contains("\"installation\" : null") || nobody.output.contains("\"installation\": null"))
        }
    }

}
