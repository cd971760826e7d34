import Crypto
package import Foundation
import GRDB
import JobQueue
package import QueueTesting
package import Reports
import ReportsSupport
import ReportsTestDoubles
package import SQLiteBackend
package import Security
package import TestSupport
import Testing

/// A migrated database with one or two installations, and the stores over it.
package struct ReportFixture: Sendable {
    package let base: QueueFixture
    package let vault = ReportFixture.makeVault()
    package static let installationA = "ari:cloud:ecosystem::installation/aaaa"
    package static let installationB = "ari:cloud:ecosystem::installation/bbbb"
    package let alice = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:alice")
    package let bob = ReportOwner(installationId: ReportFixture.installationA, accountId: "557058:bob")
    package let eve = ReportOwner(installationId: ReportFixture.installationB, accountId: "557058:alice")

    package init() throws {
        base = try QueueFixture()
    }

    package var clock: TestClock { base.clock }
    package var database: ReportsDatabase { base.database }
    /// The stores through the protocols the API uses, so the store suites check those operations.
    package var reports: any ReportDefinitions {
        let clock = clock
        return ReportStore(database: database, now: { clock.now })
    }
    package var runs: any RunRequests {
        let clock = clock
        return RunStore(database: database, queue: base.queue, vault: vault, now: { clock.now })
    }

    package func addInstallations() async throws {
        let installations = InstallationStore(database: database, vault: vault)
        for id in [Self.installationA, Self.installationB] {
            try await installations.record(identity(id), systemToken: nil)
        }
    }

    package static func makeVault() -> TokenVault { TestVault.make() }

    package func identity(_ installation: String) -> FITIdentity { Self.identity(installation) }

    /// `siteUrl`: what a user's call from the UI carries; Forge's lifecycle events and triggers have none.
    package static func identity(_ installation: String, siteUrl: URL? = nil, principal: String? = nil)
        -> FITIdentity
    {
        FITIdentity(
            installationId: installation, appId: "ari:cloud:ecosystem::app/x",
            apiBaseUrl: URL(string: "https://api.atlassian.com/ex/jira/cloud-1")!,
            cloudId: "cloud-1", environmentType: "PRODUCTION", environmentId: nil, moduleType: "core:endpoint",
            moduleKey: "k",
            principalAccountId: principal, tokenId: nil, expiresAt: Date(), siteUrl: siteUrl)
    }

    package static func definition(_ name: String = "Open bugs", schedule: ReportDefinition.Schedule? = nil)
        -> ReportDefinition
    {
        ReportDefinition(
            name: name, jql: "project = OPS AND status != Done ORDER BY key", columns: ["key", "summary", "status"],
            location: "1-6b9f1b3c-2d4e-4f60-8a1b-1c2d3e4f5a6b!31-816F7725BE12893!274", schedule: schedule)
    }

    package func remove() { base.remove() }
}
