import Foundation
import GRDB
import JobQueue
import Microsoft
import PostgresBackend
import PostgresTesting
import QueueTesting
import ReportsTesting
import SQLiteBackend
import TestSupport
import Testing

@testable import Reports
@testable import ReportsSupport
@testable import Security

/// `enqueuer copy-to-postgres` moves an installation from SQLite to PostgreSQL.
/// A real SQLite file with every kind of row, the real command, a fresh database on the test cluster;
/// then the PostgreSQL stores must read back what the SQLite ones wrote, tokens included.
@Suite("Moving from SQLite to PostgreSQL")
struct CopyToPostgresTests {
    @Test func theCopyCarriesEveryRowAndRefusesADatabaseThatIsNotEmpty() async throws {
        let fixture = try ReportFixture()
        defer { fixture.remove() }
        try await fixture.addInstallations()
        let clock = fixture.clock
        let now: @Sendable () -> Date = { clock.now }
        // What a running installation holds: reports (one scheduled), runs in several states, jobs with
        // their fairness lanes, a Microsoft connection, a system token, a used OAuth nonce, budget rows.
        let installations = InstallationStore(database: fixture.database, vault: fixture.vault, now: now)
        let systemToken = Secret("h.\(Base64URL.encode(Data(#"{"exp":1800003600}"#.utf8))).s")
        try await installations.record(fixture.identity(ReportFixture.installationA), systemToken: systemToken)
        try await MicrosoftConnectionStore(database: fixture.database, vault: fixture.vault, now: now).save(
            fixture.alice, refreshToken: Secret("refresh-1"), microsoftUserId: "ms-alice", displayName: "Alice")
        let scheduled = try await fixture.reports.create(
            fixture.alice, ReportFixture.definition("Hourly", schedule: .init(cron: "0 * * * *", timeZone: "UTC")))
        let plain = try await fixture.reports.create(fixture.bob, ReportFixture.definition("Plain"))
        _ = try await fixture.runs.requestRun(fixture.alice, reportId: scheduled.id, userToken: nil)
        _ = try await fixture.runs.requestRun(fixture.bob, reportId: plain.id, userToken: nil)
        let leased = try await fixture.base.queue.lease(
            LeaseRequest(workerId: "w", limit: 1, leaseDuration: .seconds(30)))
        _ = try await fixture.base.queue.complete(try #require(leased.first).lease)
        _ = try await fixture.runs.requestRun(fixture.bob, reportId: plain.id, userToken: nil)
        _ = try await OneNoteRateLimiter(storage: SQLiteOneNoteBudgetStorage(database: fixture.database), now: now)
            .withSlot(user: "ms-alice") { 0 }
        try await fixture.database.pool.write { db in
            try db.execute(sql: "INSERT INTO oauth_nonces (nonce, expires_at) VALUES ('n-1', 1900000000000)")
        }
        let jobs =
            try await fixture.base.queue.list(state: .available, limit: 100)
            + fixture.base.queue.list(state: .succeeded, limit: 100)

        try await PostgresTestCluster.shared().withEmptyDatabase { url in
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let copy = try await ChildProcess.run(
                "enqueuer", ["copy-to-postgres", "--from", fixture.database.path, "--to", url], environment: [:],
                in: directory)
            #expect(copy.status == 0, "\(copy.output)")
            #expect(
                copy.output.contains("jobs: \(jobs.count) rows") && copy.output.contains("reports: 2 rows"),
                "\(copy.output)")

            try await PostgresTestCluster.withRunning(url: url) { database in
                let reports = PostgresReportStore(database: database, now: now)
                #expect(try await reports.list(fixture.alice) == [scheduled])
                #expect(try await reports.list(fixture.bob) == [plain])
                let runs = PostgresRunStore(
                    database: database, queue: PostgresJobQueue(database: database), vault: fixture.vault, now: now)
                #expect(
                    try await runs.runs(fixture.bob, reportId: plain.id, limit: 10)
                        == fixture.runs.runs(fixture.bob, reportId: plain.id, limit: 10))
                let queue = PostgresJobQueue(database: database, now: now)
                #expect(
                    try await queue.list(state: .available, limit: 100) + queue.list(state: .succeeded, limit: 100)
                        == jobs, "jobs keep their ids, states and lanes")
                // Tokens stay sealed as they were and open with the same keys.
                let stores = PostgresRunReportStores(database: database, vault: fixture.vault, now: now)
                #expect(
                    try await stores.systemToken(installationId: ReportFixture.installationA)?.token == systemToken)
                let sealed = try #require(
                    try await PostgresMicrosoftTokenStorage(database: database).sealedRefreshToken(fixture.alice))
                #expect(
                    try fixture.vault.open(
                        sealed,
                        context: .microsoftRefreshToken(
                            installationId: fixture.alice.installationId, accountId: fixture.alice.accountId))
                        == Secret("refresh-1"))
                #expect(
                    try await PostgresConnectionStore(database: database, vault: fixture.vault, now: now)
                        .connection(fixture.alice)?.microsoftUserId == "ms-alice")
                // The nonce is still spent; new jobs continue after the copied ids.
                let next = try await queue.enqueue([try diagnostic()])[0].jobId
                #expect(next > jobs.map(\.id).max()!)
            }

            let again = try await ChildProcess.run(
                "enqueuer", ["copy-to-postgres", "--from", fixture.database.path, "--to", url], environment: [:],
                in: directory)
            #expect(again.status != 0)
            #expect(again.output.contains("is not empty"), "\(again.output)")
        }
    }
}
