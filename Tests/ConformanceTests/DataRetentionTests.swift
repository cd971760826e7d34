import Foundation
import ReportsTesting
import TestSupport
import Testing

@testable import Reports
@testable import Security

/// Data retention on both backends, with a hand-moved clock: runs kept per report and by age, what is useless
/// deleted at once, and a silent site's reports stopped, then its rows deleted after the grace period.
@Suite("Data retention")
struct DataRetentionTests {
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 24 * hour

    @Test(arguments: StorageBackend.allCases)
    func runsAreKeptPerReportAndByAgeButNeverWhileTheyWaitOrRun(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let hourly = try await stores.reports.create(stores.alice, ReportFixture.definition("Hourly"))
            let daily = try await stores.reports.create(stores.bob, ReportFixture.definition("Daily"))
            let now = stores.nowMilliseconds
            // 105 hourly runs, the oldest still waiting; 3 older daily ones.
            for index in 0..<105 {
                try await stores.insertRun(
                    "h\(index)", report: hourly.id, queuedAt: now - Int64(index) * Self.hour,
                    status: index == 104 ? "queued" : "succeeded")
            }
            try await stores.insertRun("d-89", report: daily.id, queuedAt: now - 89 * Self.day, status: "failed")
            try await stores.insertRun("d-91", report: daily.id, queuedAt: now - 91 * Self.day, status: "succeeded")
            try await stores.insertRun("d-100", report: daily.id, queuedAt: now - 100 * Self.day, status: "running")

            let rules = RetentionRules()
            let first = try await stores.dataLifecycle.prune(rules, now: stores.clock.now)
            #expect(first.runs == 5, "4 hourly beyond the newest 100, 1 daily past 90 days")
            #expect(try await stores.runIds(report: hourly.id).count == 101)
            #expect(try await stores.runIds(report: hourly.id).contains("h104"), "a waiting run stays")
            #expect(try await stores.runIds(report: daily.id) == ["d-100", "d-89"])
            #expect(try await stores.dataLifecycle.prune(rules, now: stores.clock.now).runs == 0, "nothing left to do")

            stores.clock.advance(by: .seconds(2 * 86_400))
            let later = try await stores.dataLifecycle.prune(rules, now: stores.clock.now)
            #expect(later.runs == 1)
            #expect(try await stores.runIds(report: daily.id) == ["d-100"])

            var fewer = RetentionRules()
            fewer.runsPerReport = 10
            #expect(try await stores.dataLifecycle.prune(fewer, now: stores.clock.now).runs == 90)
            #expect(try await stores.runIds(report: hourly.id).count == 11)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func noncesWaitingConnectionsBudgetRowsAndForwardedTokensGoOnceUseless(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let now = stores.nowMilliseconds
            try await stores.execute(
                "INSERT INTO oauth_nonces (nonce, expires_at) VALUES ('spent', \(now - 1)), ('live', \(now + 600_000))")
            try await stores.execute(
                """
                INSERT INTO onenote_requests (microsoft_user_id, at)
                VALUES ('ms-1', \(now - 2 * Self.hour)), ('ms-1', \(now - 600_000))
                """)
            try await stores.execute(
                """
                INSERT INTO onenote_inflight (id, microsoft_user_id, expires_at)
                VALUES ('lapsed', 'ms-1', \(now - 1)), ('held', 'ms-1', \(now + 10_000))
                """)
            let waiting = PendingConnection(
                owner: stores.alice, microsoftUserId: "ms-a", displayName: "A", microsoftAccount: "a@x")
            _ = try await stores.pending.park(waiting, refreshToken: Secret("refresh"), browser: "b")
            let first = try await stores.reports.create(stores.alice, ReportFixture.definition("One"))
            let second = try await stores.reports.create(stores.bob, ReportFixture.definition("Two"))
            let expiry = Int(stores.clock.now.timeIntervalSince1970) + 900
            let token = Secret("h.\(Base64URL.encode(Data(#"{"exp":\#(expiry)}"#.utf8))).forwarded")
            for (owner, report) in [(stores.alice, first), (stores.bob, second)] {
                _ = try await stores.runs.requestRun(owner, reportId: report.id, userToken: token)
            }
            #expect(try await stores.integers(Self.jobsHoldingAToken) == [2])

            let pruned = try await stores.dataLifecycle.prune(RetentionRules(), now: stores.clock.now)
            #expect(pruned.oauthNonces == 1 && pruned.budgetRows == 2 && pruned.pendingConnections == 0)
            #expect(pruned.forwardedTokens == 0, "both jobs wait and their tokens are valid")
            #expect(try await stores.integers("SELECT count(*) FROM oauth_nonces") == [1])
            #expect(try await stores.integers("SELECT count(*) FROM onenote_requests") == [1])
            #expect(try await stores.integers("SELECT count(*) FROM onenote_inflight") == [1])

            // One job finishes: the statement that finishes it erases its token (ForwardedTokenTests).
            let finishedId = try #require(try await stores.integers("SELECT min(id) FROM jobs").first)
            try await stores.execute(
                "UPDATE jobs SET state = 'succeeded', finished_at = \(now) WHERE id = \(finishedId)")
            #expect(try await stores.integers(Self.jobsHoldingAToken) == [1])
            #expect(try await stores.dataLifecycle.prune(RetentionRules(), now: stores.clock.now).forwardedTokens == 0)
            // The other still waits when its token expires: it runs with an offline token instead.
            stores.clock.advance(by: .seconds(16 * 60))
            let later = try await stores.dataLifecycle.prune(RetentionRules(), now: stores.clock.now)
            #expect(later.forwardedTokens == 1 && later.pendingConnections == 1)
            #expect(try await stores.integers(Self.jobsHoldingAToken) == [0])
            #expect(try await stores.integers("SELECT count(*) FROM jobs") == [2], "the jobs themselves stay")
            #expect(try await stores.integers("SELECT count(*) FROM oauth_pending_connections") == [0])
        }
    }

    static let jobsHoldingAToken = "SELECT count(*) FROM jobs WHERE payload LIKE '%userToken%'"

    /// The per-user request record counts a minute and keeps at most an hour; the names shown on a
    /// connect confirmation go when the confirmation can no longer be answered.
    @Test(arguments: StorageBackend.allCases)
    func requestRecordsAndConnectNamesGoOnceUseless(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let (now, site) = (stores.nowMilliseconds, ReportFixture.installationA)
            try await stores.execute(
                """
                INSERT INTO user_requests (installation_id, account_id, kind, at)
                VALUES ('\(site)', 'alice', 'run_now', \(now - 2 * Self.hour)), ('\(site)', 'alice', 'report_write', \(now - 10_000))
                """)
            try await stores.execute(
                """
                INSERT INTO connect_labels (installation_id, account_id, jira_display_name, site_name, expires_at)
                VALUES ('\(site)', 'alice', 'Alice', 'Acme', \(now - 1)), ('\(site)', 'bob', 'Bob', 'Acme', \(now + 600_000))
                """)
            let pruned = try await stores.dataLifecycle.prune(RetentionRules(), now: stores.clock.now)
            #expect(pruned.requestRecords == 2)
            #expect(try await stores.integers("SELECT count(*) FROM user_requests") == [1])
            #expect(try await stores.integers("SELECT count(*) FROM connect_labels") == [1])
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aSilentSiteStopsAtOnceAndIsDeletedAfterTheGracePeriodUnlessItCallsAgain(_ backend: StorageBackend)
        async throws
    {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let hourly = ReportDefinition.Schedule(cron: "0 * * * *", timeZone: "UTC")
            let alices = try await stores.reports.create(stores.alice, ReportFixture.definition("A", schedule: hourly))
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("B", schedule: hourly))
            _ = try await stores.runs.requestRun(stores.alice, reportId: alices.id, userToken: nil)
            let rules = RetentionRules()

            // 31 days on, only site B's hourly trigger has kept calling.
            stores.clock.advance(by: .seconds(31 * 86_400))
            try await stores.installations.record(ReportFixture.identity(ReportFixture.installationB), systemToken: nil)
            let tick = try await stores.scheduler.batch(100)
            #expect(tick.due == 1 && tick.tick.enqueued == 1, "site A is gone: its report is not even due")
            #expect(try await stores.integers("SELECT count(*) FROM runs WHERE trigger = 'schedule'") == [1])
            #expect(try await stores.dataLifecycle.prune(rules, now: stores.clock.now).installations.isEmpty, "grace")

            // 45 days on (30 silent + 14 grace passed): site A and all it held are deleted.
            stores.clock.advance(by: .seconds(14 * 86_400))
            try await stores.installations.record(ReportFixture.identity(ReportFixture.installationB), systemToken: nil)
            let pruned = try await stores.dataLifecycle.prune(rules, now: stores.clock.now)
            var expected = ErasedRows(installationId: ReportFixture.installationA)
            (expected.reports, expected.runs, expected.jobs) = (1, 1, 1)
            #expect(pruned.installations == [expected])
            let counts = try await stores.dataLifecycle.rowCounts()
            #expect(counts["installations"] == 1 && counts["reports"] == 1)
            #expect(counts["runs"] == 1 && counts["jobs"] == 1, "site B's scheduled run and its job stay")
            #expect(
                try await stores.tenantExport.export(installationId: ReportFixture.installationA, accountId: nil)
                    .isEmpty)
        }
    }

    /// Both sites known, and alice's hourly report "A" on site A.
    static func hourlyReportOfSiteA(_ stores: StoresUnderTest) async throws {
        try await stores.addInstallations()
        let hourly = ReportDefinition.Schedule(cron: "0 * * * *", timeZone: "UTC")
        _ = try await stores.reports.create(stores.alice, ReportFixture.definition("A", schedule: hourly))
    }

    /// With a licence required, a site whose licence a Forge call said is not active pauses its
    /// schedules until a call says it is again; a site no call has spoken for keeps them.
    @Test(arguments: StorageBackend.allCases)
    func aSiteWhoseLicenceIsNotActivePausesItsSchedules(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await Self.hourlyReportOfSiteA(stores)
            let required = stores.scheduler(license: LicensePolicy(required: true))
            var site = ReportFixture.identity(ReportFixture.installationA)
            stores.clock.advance(by: .seconds(3_600))
            #expect(try await required.batch(100).tick.enqueued == 1, "nothing said: the schedule runs")
            site.licenseActive = false
            try await stores.installations.record(site, systemToken: nil)
            stores.clock.advance(by: .seconds(3_600))
            #expect(try await required.batch(100).due == 0, "inactive: paused")
            site.licenseActive = nil
            try await stores.installations.record(site, systemToken: nil)
            #expect(try await required.batch(100).due == 0, "a token that says nothing changes nothing")
            site.licenseActive = true
            try await stores.installations.record(site, systemToken: nil)
            // Active again: the missed slots run once (joining the run the first slot left waiting).
            #expect(try await required.batch(100).due == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aSiteThatCallsAgainWithinTheGracePeriodKeepsItsReports(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await Self.hourlyReportOfSiteA(stores)
            stores.clock.advance(by: .seconds(40 * 86_400))
            #expect(try await stores.scheduler.batch(100).tick.enqueued == 0, "gone: stopped")
            try await stores.installations.record(ReportFixture.identity(ReportFixture.installationA), systemToken: nil)
            #expect(try await stores.scheduler.batch(100).tick.enqueued == 1, "back: runs again")
            stores.clock.advance(by: .seconds(10 * 86_400))
            let pruned = try await stores.dataLifecycle.prune(RetentionRules(), now: stores.clock.now)
            #expect(pruned.installations.map(\.installationId) == [ReportFixture.installationB], "B never came back")
            #expect(try await stores.dataLifecycle.rowCounts()["reports"] == 1)
        }
    }
}

extension StoresUnderTest {
    var nowMilliseconds: Int64 { Int64((clock.now.timeIntervalSince1970 * 1000).rounded()) }

    func insertRun(_ id: String, report: String, queuedAt: Int64, status: String) async throws {
        let finished = ["succeeded", "failed"].contains(status) ? "\(queuedAt + 1000)" : "NULL"
        try await execute(
            """
            INSERT INTO runs (id, report_id, installation_id, trigger, status, attempt, queued_at, finished_at)
            SELECT '\(id)', id, installation_id, 'schedule', '\(status)', 1, \(queuedAt), \(finished)
            FROM reports WHERE id = '\(report)'
            """)
    }

    func runIds(report: String) async throws -> [String] {
        try await tenantExport.export(installationId: ReportFixture.installationA, accountId: nil).runs
            .filter { $0.reportId == report }.map(\.id).sorted()
    }
}
