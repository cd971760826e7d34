import Foundation
import Reports
import ReportsTesting
import Security
import TestSupport
import Testing

/// The admin page's storage on both backends: one site's reports by person with their latest runs, its
/// connections, its runs of the last day and week by outcome and cause, and the switch that pauses
/// every schedule of the site (and only that site's).
@Suite("Site administration")
struct SiteAdministrationTests {
    @Test(arguments: StorageBackend.allCases)
    func theOverviewCountsEachPersonsReportsAndTheSitesRuns(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let hourly = ReportDefinition.Schedule(cron: "0 * * * *", timeZone: "UTC")
            let first = try await stores.reports.create(stores.alice, ReportFixture.definition("B", schedule: hourly))
            let second = try await stores.reports.create(stores.alice, ReportFixture.definition("A"))
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("Site B's", schedule: hourly))
            let bob = PendingConnection(
                owner: stores.bob, microsoftUserId: "ms-b", displayName: "B", microsoftAccount: "b@x")
            let token = try await stores.pending.park(bob, refreshToken: Secret("refresh-b"), browser: "b")
            _ = try await stores.pending.take(token: token.revealed, browser: "b", confirm: true)

            let now = stores.nowMilliseconds
            let hour: Int64 = 3_600_000
            try await stores.insertRun("r1", report: first.id, queuedAt: now - 2 * hour, status: "succeeded")
            try await stores.insertRun("r2", report: first.id, queuedAt: now - hour, status: "failed")
            try await stores.insertRun("r3", report: first.id, queuedAt: now - 3 * 24 * hour, status: "failed")
            try await stores.insertRun("r4", report: first.id, queuedAt: now - 4 * 24 * hour, status: "failed")
            try await stores.insertRun("r5", report: second.id, queuedAt: now - 10 * 24 * hour, status: "failed")
            try await stores.insertRun("r6", report: second.id, queuedAt: now - 60_000, status: "queued")
            try await stores.execute("UPDATE runs SET error_code = 'invalid_jql' WHERE id IN ('r2', 'r3')")
            try await stores.execute("UPDATE runs SET error_code = 'jira_forbidden' WHERE id IN ('r4', 'r5')")

            let overview = try await SiteOverview.read(
                stores.administration, installationId: ReportFixture.installationA, now: stores.clock.now)
            #expect(overview.users.map(\.accountId) == [stores.alice.accountId, stores.bob.accountId])
            let alice = overview.users[0]
            #expect(alice.reports.map(\.report.name) == ["A", "B"] && alice.scheduledReports == 1)
            #expect(
                alice.microsoft == nil && overview.users[1].microsoft == .active && overview.users[1].reports.isEmpty)
            #expect(
                alice.reports[1].latestRun?.status == .failed && alice.reports[1].latestRun?.errorCode == "invalid_jql")
            #expect(alice.reports[0].latestRun?.status == .queued, "the newest run, not the oldest")
            #expect(overview.reportCount == 2, "site B's report is not in site A's overview")

            #expect(overview.lastDay.succeeded == 1 && overview.lastDay.failed == 1 && overview.lastDay.inProgress == 1)
            #expect(overview.lastDay.failures == [.init(code: "invalid_jql", count: 1)])
            #expect(overview.lastWeek.total == 5 && overview.lastWeek.failed == 3, "r5 is older than a week")
            #expect(
                overview.lastWeek.failures == [
                    .init(code: "invalid_jql", count: 2), .init(code: "jira_forbidden", count: 1),
                ])
            #expect(overview.schedulesPausedAt == nil)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func pausingASitesSchedulesStopsOnlyThatSiteUntilResumed(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let hourly = ReportDefinition.Schedule(cron: "0 * * * *", timeZone: "UTC")
            _ = try await stores.reports.create(stores.alice, ReportFixture.definition("A", schedule: hourly))
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("B", schedule: hourly))
            let pausedAt = stores.clock.now
            let paused = try await stores.administration.setSchedulesPaused(
                true, installationId: ReportFixture.installationA, at: pausedAt)
            #expect(paused?.timeIntervalSince1970.rounded() == pausedAt.timeIntervalSince1970.rounded())
            stores.clock.advance(by: .seconds(3_600))
            let again = try await stores.administration.setSchedulesPaused(
                true, installationId: ReportFixture.installationA, at: stores.clock.now)
            #expect(again == paused, "a second pause keeps the first one's time")

            #expect(try await stores.scheduler.batch(100).tick.enqueued == 1, "site B runs; site A does not")
            stores.clock.advance(by: .seconds(3_600))
            #expect(try await stores.scheduler.batch(100).due == 1, "only site B is due")

            let resumed = try await stores.administration.setSchedulesPaused(
                false, installationId: ReportFixture.installationA, at: stores.clock.now)
            #expect(resumed == nil)
            #expect(
                try await stores.administration.schedulesPausedAt(installationId: ReportFixture.installationA) == nil)
            // Resumed: site A's two missed slots run once.
            let tick = try await stores.scheduler.batch(100).tick
            #expect(tick.enqueued + tick.joined == 1)
            stores.clock.advance(by: .seconds(3_600))
            #expect(try await stores.scheduler.batch(100).due == 2, "both keep their schedules")
        }
    }
}
