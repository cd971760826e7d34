import Foundation
import ReportsTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import Rendering
@testable import Reports
@testable import ReportsSupport
@testable import Security

// The store conformance suite: every test takes a backend and reaches the stores
// only through the protocols the API and the scheduler use (`StoresUnderTest`), so SQLite and
// PostgreSQL are held to the same rules.

@Suite("Reports, runs and the scheduler")
struct ReportStoreTests {
    /// A report's page layout is stored and read back as it was given, changed by an update, and a
    /// report without one reads as the standard layout.
    @Test(arguments: StorageBackend.allCases)
    func aReportKeepsItsPageLayout(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            var definition = ReportFixture.definition()
            let plain = try await fixture.reports.create(fixture.alice, definition)
            #expect(try await fixture.reports.get(fixture.alice, id: plain.id)?.definition.layout == .standard)
            definition.layout = PageLayout(
                summary: false, sumField: "customfield_10016", groupBy: "sprint", parentChild: true, notesColumn: true)
            let laidOut = try await fixture.reports.create(fixture.alice, definition)
            #expect(
                try await fixture.reports.get(fixture.alice, id: laidOut.id)?.definition.layout == definition.layout)
            definition.layout = PageLayout(groupBy: "assignee")
            _ = try await fixture.reports.update(fixture.alice, id: laidOut.id, definition)
            #expect(
                try await fixture.reports.list(fixture.alice).first { $0.id == laidOut.id }?.definition.layout
                    == PageLayout(groupBy: "assignee"))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func reportsAreVisibleAndChangeableOnlyByTheirOwner(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let report = try await fixture.reports.create(fixture.alice, ReportFixture.definition())
            #expect(try await fixture.reports.get(fixture.alice, id: report.id) == report)
            #expect(try await fixture.reports.list(fixture.alice).map(\.id) == [report.id])
            for stranger in [fixture.bob, fixture.eve] {
                #expect(try await fixture.reports.get(stranger, id: report.id) == nil)
                #expect(try await fixture.reports.list(stranger).isEmpty)
                #expect(
                    try await fixture.reports.update(stranger, id: report.id, ReportFixture.definition("Mine now"))
                        == nil)
                #expect(try await fixture.reports.delete(stranger, id: report.id) == false)
                #expect(
                    try await fixture.runs.requestRun(stranger, reportId: report.id, userToken: nil) == .reportNotFound)
                #expect(try await fixture.runs.runs(stranger, reportId: report.id, limit: 10) == nil)
            }
            let run = try #require(
                try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil).run)
            for stranger in [fixture.bob, fixture.eve] {
                #expect(try await fixture.runs.run(stranger, id: run.id) == nil)
            }
            var waiting = run
            waiting.nextAttemptAt = run.queuedAt  // its job is due at once
            #expect(try await fixture.runs.run(fixture.alice, id: run.id) == waiting)
            let renamed = try await fixture.reports.update(
                fixture.alice, id: report.id, ReportFixture.definition("Renamed"))
            #expect(renamed?.name == "Renamed" && renamed?.createdAt == report.createdAt)
            #expect(try await fixture.reports.get(fixture.alice, id: report.id) == renamed)
            #expect(try await fixture.reports.delete(fixture.alice, id: report.id))
            #expect(try await fixture.reports.get(fixture.alice, id: report.id) == nil)
            #expect(try await fixture.runs.run(fixture.alice, id: run.id) == nil, "its runs went with it")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aPassEnqueuesEveryDueReportNotJustOneBatch(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            for index in 0..<23 {
                _ = try await fixture.reports.create(
                    fixture.alice,
                    ReportFixture.definition("R\(index)", schedule: .init(cron: "0 * * * *", timeZone: "UTC")))
            }
            fixture.clock.advance(by: .seconds(3600))
            // Batches of 5: one pass goes on until nothing is due (it was one batch per interval before).
            #expect(try await fixture.scheduler.pass(batch: 5, maxBatches: 100).enqueued == 23)
            #expect(try await fixture.queue.stats().available == 23)
            #expect(try await fixture.scheduler.pass(batch: 5, maxBatches: 100) == .init())
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func lateSchedulesAreMeasuredFromTheirSlot(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let report = try await fixture.reports.create(
                fixture.alice, ReportFixture.definition(schedule: .init(cron: "0 * * * *", timeZone: "UTC")))
            let slot = try #require(report.nextRunAt)
            // The scheduler runs 90 s after the slot (it was down, or behind a burst).
            fixture.clock.advance(by: .milliseconds(slot - Timestamp.milliseconds(fixture.clock.now) + 90_000))
            #expect(try await fixture.scheduler.pass().enqueued == 1)
            var lateness = try await fixture.storage.scheduleLateness()
            #expect(lateness.enqueued == .init(runs: 1, p95Seconds: 90, maxSeconds: 90))
            #expect(lateness.started.runs == 0, "not started yet")
            // It starts 30 s later (the worker's claim sets started_at once).
            fixture.clock.advance(by: .seconds(30))
            try await fixture.execute("UPDATE runs SET started_at = \(Timestamp.milliseconds(fixture.clock.now))")
            lateness = try await fixture.storage.scheduleLateness()
            #expect(lateness.started == .init(runs: 1, p95Seconds: 120, maxSeconds: 120))
            // A Run now has no slot and does not count.
            _ = try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil)
            #expect(try await fixture.storage.scheduleLateness().enqueued.runs == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func runNowReturnsTheWaitingRunAndSealsTheForwardedTokenForThatRun(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let report = try await fixture.reports.create(fixture.alice, ReportFixture.definition())
            let userToken = Secret("header.\(Base64URL.encode(Data(#"{"exp":1800003600}"#.utf8))).signature")
            guard
                case .queued(let first) = try await fixture.runs.requestRun(
                    fixture.alice, reportId: report.id, userToken: userToken)
            else {
                Issue.record("expected a new run")
                return
            }
            #expect(
                try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil) == .joined(first))

            let job = try #require(
                try await fixture.queue.lease(LeaseRequest(workerId: "w", limit: 1, leaseDuration: .seconds(30))).first)
            #expect(job.kind == RunReportJob.kind)
            let parameters = try JSONDecoder().decode(RunReportJob.self, from: job.payload)
            #expect(
                parameters.runId == first.id && parameters.reportId == report.id
                    && parameters.ownerAccountId == "557058:alice")
            #expect(parameters.userTokenExpiresAt == 1_800_003_600_000)
            let sealed = try #require(parameters.userToken.flatMap { Base64URL.decode($0) })
            #expect(
                !String(decoding: job.payload, as: UTF8.self).contains("signature"),
                "the token is not in the payload in clear")
            #expect(
                try fixture.vault.open(
                    sealed, context: .forwardedUserToken(installationId: ReportFixture.installationA, runId: first.id))
                    == userToken)
            #expect(throws: TokenVaultError.self) {
                try fixture.vault.open(
                    sealed, context: .forwardedUserToken(installationId: ReportFixture.installationA, runId: "other"))
            }

            // While it runs (it may have read Jira already), Run now queues one follow-up behind it; a
            // further Run now joins that follow-up, which has not started (one waiting, one running).
            guard
                case .followUp(let second, let running) = try await fixture.runs.requestRun(
                    fixture.alice, reportId: report.id, userToken: nil)
            else {
                Issue.record("expected a follow-up run")
                return
            }
            #expect(running.id == first.id && second.id != first.id)
            #expect(
                try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil)
                    == .joined(second))
            _ = try await fixture.queue.complete(job.lease)
            #expect(
                try await fixture.runs.requestRun(fixture.alice, reportId: report.id, userToken: nil)
                    == .joined(second))
            #expect(
                try await fixture.runs.runs(fixture.alice, reportId: report.id, limit: 10)?.map(\.id).sorted()
                    == [first.id, second.id].sorted())
        }
    }

    /// Many Run nows of one report at once, from many connections: one run is queued and every other
    /// request joins it (SQLite gets this from its one writer, PostgreSQL from the report's row lock).
    @Test(arguments: StorageBackend.allCases)
    func concurrentRunNowsOfOneReportQueueOneRun(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let report = try await fixture.reports.create(fixture.alice, ReportFixture.definition())
            let runs = fixture.runs(runNowPerMinute: 100)
            let results = try await withThrowingTaskGroup(of: RunRequestResult.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        try await runs.requestRun(fixture.alice, reportId: report.id, userToken: nil)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let queued = results.compactMap { if case .queued(let run) = $0 { run } else { nil } }
            #expect(queued.count == 1, "\(results)")
            #expect(results.allSatisfy { $0.run?.id == queued.first?.id })
            #expect(try await fixture.queue.stats().available == 1)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func theSchedulerEnqueuesDueReportsAndCollapsesMissedSlots(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            // 2026-03-28 22:30Z: an hourly report in Berlin, across the night the clocks go forward.
            fixture.clock.advance(
                by: .seconds(
                    Int64(try Date("2026-03-28T22:30:00Z", strategy: .iso8601).timeIntervalSince(fixture.clock.now))))
            let report = try await fixture.reports.create(
                fixture.alice, ReportFixture.definition(schedule: .init(cron: "0 * * * *", timeZone: "Europe/Berlin")))
            #expect(report.nextRunAt == Timestamp.milliseconds(try Date("2026-03-28T23:00:00Z", strategy: .iso8601)))
            let scheduler = fixture.scheduler
            func tick() async throws -> SchedulerTick { try await scheduler.pass(batch: 500, maxBatches: 1) }
            #expect(try await tick() == .init())

            var slots: [Int64] = []
            for _ in 0..<6 {
                fixture.clock.advance(by: .seconds(3600))
                let before = try await fixture.reports.get(fixture.alice, id: report.id)!.nextRunAt!
                #expect(try await tick().enqueued == 1)
                slots.append(before)
                for job in try await fixture.queue.lease(
                    LeaseRequest(workerId: "w", limit: 5, leaseDuration: .seconds(30)))
                {
                    _ = try await fixture.queue.complete(job.lease)
                }
            }
            // One run each real hour, straight through the skipped 02:00 local.
            #expect(
                slots.map { Timestamp.date(milliseconds: $0).formatted(.iso8601) } == [
                    "2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z",
                    "2026-03-29T03:00:00Z", "2026-03-29T04:00:00Z",
                ])

            // Six hours of downtime: one run, and the next slot is in the future.
            fixture.clock.advance(by: .seconds(6 * 3600))
            #expect(try await tick().enqueued == 1)
            #expect(try await tick().enqueued == 0)
            let next = try await fixture.reports.get(fixture.alice, id: report.id)!.nextRunAt!
            #expect(next > Timestamp.milliseconds(fixture.clock.now))

            // A slot that comes while the previous run still waits joins it instead of queueing another.
            fixture.clock.advance(by: .seconds(3600))
            #expect(try await tick() == .init(enqueued: 0, joined: 1, invalid: 0))
            let runs = try await fixture.runs.runs(fixture.alice, reportId: report.id, limit: 100)!
            #expect(runs.count == 7 && runs.allSatisfy { $0.trigger == .schedule })

            // A schedule that no longer parses (written by an older version) is unscheduled, not retried.
            try await fixture.execute("UPDATE reports SET schedule_cron = '61 * * * *', next_run_at = 1")
            #expect(try await tick() == .init(enqueued: 0, joined: 0, invalid: 1))
            #expect(try await fixture.reports.get(fixture.alice, id: report.id)?.nextRunAt == nil)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func twoSchedulersRacingOnOneDatabaseEnqueueEachSlotOnce(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            for index in 0..<60 {
                _ = try await fixture.reports.create(
                    index % 2 == 0 ? fixture.alice : fixture.eve,
                    ReportFixture.definition("R\(index)", schedule: .init(cron: "*/15 * * * *", timeZone: "UTC")))
            }
            fixture.clock.advance(by: .seconds(3600))
            let mine = fixture.scheduler
            // Two processes' worth: separate connections to the same database.
            try await fixture.withSecondProcess { other in
                let ticks = try await withThrowingTaskGroup(of: SchedulerTick.self) { group in
                    for round in 0..<10 {
                        for scheduler in [mine, other.scheduler] {
                            group.addTask { try await scheduler.pass(batch: 7 + round, maxBatches: 1) }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(ticks.map(\.enqueued).reduce(0, +) == 60)
            }
            #expect(try await fixture.queue.stats().available == 60)
            let perReport = try await fixture.integers("SELECT count(*) FROM runs GROUP BY report_id")
            #expect(perReport.count == 60 && perReport.allSatisfy { $0 == 1 })
        }
    }

    @Test func definitionsAreValidatedFieldByField() {
        let good = ReportFixture.definition()
        #expect(throws: Never.self) { try good.validate() }
        let cases: [(ReportDefinition, String)] = [
            (with(good) { $0.name = "" }, "name"),
            (with(good) { $0.name = String(repeating: "n", count: 201) }, "name"),
            (with(good) { $0.jql = String(repeating: "a", count: 2001) }, "jql"),
            (with(good) { $0.jql = nil }, "jql"),
            (with(good) { $0.filterId = "10001" }, "jql"),
            (
                with(good) {
                    $0.jql = nil
                    $0.filterId = "abc"
                }, "filterId"
            ),
            (with(good) { $0.columns = [] }, "columns"),
            (with(good) { $0.columns = ["key", "key"] }, "columns"),
            (with(good) { $0.columns = ["summary", "<script>"] }, "columns"),
            (with(good) { $0.columns = ["customfield_abc"] }, "columns"),
            (with(good) { $0.location = "../etc" }, "sectionId"),
            (with(good) { $0.location = "1-abc def" }, "sectionId"),
            (with(good) { $0.schedule = .init(cron: "0 25 * * *", timeZone: "UTC") }, "schedule.cron"),
            (with(good) { $0.schedule = .init(cron: "0 * * * *", timeZone: "Nowhere/Town") }, "schedule.timeZone"),
        ]
        for (definition, field) in cases {
            let error = #expect(throws: ReportValidationError.self) { try definition.validate() }
            #expect(error?.field == field, "\(error?.description ?? "no error")")
        }
        #expect(throws: Never.self) {
            try with(good) {
                $0.jql = nil
                $0.filterId = "10001"
                $0.columns = ["key", "customfield_10010"]
            }.validate()
        }
    }
}

func with<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var copy = value
    change(&copy)
    return copy
}

/// Tenant quotas: refused on new writes with a clear code, existing data keeps working.
@Suite("Tenant quotas")
struct QuotaTests {
    @Test(arguments: StorageBackend.allCases)
    func reportsPerUserAndPerSiteAreCapped(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            var limits = TenantLimits()
            limits.reportsPerUser = 2
            limits.reportsPerInstallation = 3
            let reports = fixture.reports(limits: limits)
            for _ in 0..<2 { _ = try await reports.create(fixture.alice, ReportFixture.definition()) }
            let mine = await #expect(throws: ReportValidationError.self) {
                try await reports.create(fixture.alice, ReportFixture.definition())
            }
            #expect(mine?.code == "report_quota_exceeded" && mine?.message.contains("at most 2") == true)
            let bobs = try await reports.create(fixture.bob, ReportFixture.definition())
            let site = await #expect(throws: ReportValidationError.self) {
                try await reports.create(fixture.bob, ReportFixture.definition())
            }
            #expect(site?.code == "report_quota_exceeded" && site?.message.contains("Jira site") == true)
            #expect(
                try await reports.create(fixture.eve, ReportFixture.definition()).installationId
                    == ReportFixture.installationB, "another site has its own")
            // Over the quota, what exists keeps working: it can be changed and deleted.
            #expect(
                try await reports.update(fixture.bob, id: bobs.id, ReportFixture.definition("Renamed"))?.name
                    == "Renamed")
            #expect(try await reports.delete(fixture.bob, id: bobs.id))
            #expect(
                try await reports.create(fixture.bob, ReportFixture.definition()).ownerAccountId
                    == fixture.bob.accountId)
        }
    }

    /// Creates racing for the last places under a quota: exactly the quota is created, whichever
    /// connections they come from (each counts in its writing transaction, and the counts are serialised).
    @Test(arguments: StorageBackend.allCases)
    func concurrentCreatesDoNotOvershootAQuota(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            var limits = TenantLimits()
            limits.reportsPerUser = 5
            let reports = fixture.reports(limits: limits)
            let created = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await reports.create(fixture.alice, ReportFixture.definition("R\(index)"))
                            return true
                        } catch let error as ReportValidationError where error.code == "report_quota_exceeded" {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(created == 5)
            #expect(try await fixture.reports.list(fixture.alice).count == 5)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aScheduleMayNotFireMoreOftenThanTheShortestInterval(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let error = await #expect(throws: ReportValidationError.self) {
                try await fixture.reports.create(
                    fixture.alice, ReportFixture.definition(schedule: .init(cron: "*/5 * * * *", timeZone: "UTC")))
            }
            #expect(error?.code == "schedule_too_frequent" && error?.field == "schedule.cron")
            #expect(error?.message == "runs as often as every 5 minutes; the shortest interval allowed is 15 minutes")
            let report = try await fixture.reports.create(
                fixture.alice, ReportFixture.definition(schedule: .init(cron: "*/15 * * * *", timeZone: "UTC")))

            // A report stored before the limit (or under a lower one) keeps its schedule through an edit
            // that leaves the schedule alone; changing it to another too-frequent one is refused.
            var lenient = TenantLimits()
            lenient.minScheduleMinutes = 1
            let old = try await fixture.reports(limits: lenient).create(
                fixture.alice, ReportFixture.definition(schedule: .init(cron: "*/2 * * * *", timeZone: "UTC")))
            #expect(
                try await fixture.reports.update(
                    fixture.alice, id: old.id,
                    ReportFixture.definition("Kept", schedule: .init(cron: "*/2 * * * *", timeZone: "UTC")))?.name
                    == "Kept")
            await #expect(throws: ReportValidationError.self) {
                try await fixture.reports.update(
                    fixture.alice, id: report.id,
                    ReportFixture.definition(schedule: .init(cron: "*/10 * * * *", timeZone: "UTC")))
            }
        }
    }

    @Test func theShortestIntervalIsComputedAcrossHoursAndMidnight() throws {
        func gap(_ cron: String) throws -> Int? { try CronExpression(cron).shortestIntervalMinutes }
        #expect(try gap("* * * * *") == 1)
        #expect(try gap("*/15 * * * *") == 15)
        #expect(try gap("0,50 * * * *") == 10, "50 → the next hour's 0")
        #expect(try gap("0 9 * * *") == 1440)
        #expect(try gap("0 8 * * 1-5") == 1440, "weekdays: one day between Monday and Tuesday")
        #expect(try gap("55 23 * * *") == 1440)
        #expect(try gap("0,50 0,23 * * *") == 10, "23:50 to the next day's 00:00")
        #expect(try gap("0 0 1 * *") == 28 * 1440, "monthly: February is the shortest month")
        #expect(try gap("59 23 * * 1") == 7 * 1440, "weekly")
    }

    @Test(arguments: StorageBackend.allCases)
    func runNowIsLimitedPerUserAndMinute(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            let runs = fixture.runs(runNowPerMinute: 3)
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try await fixture.reports.create(fixture.alice, ReportFixture.definition("R\(index)")).id)
            }
            for id in ids.prefix(3) {
                guard case .queued = try await runs.requestRun(fixture.alice, reportId: id, userToken: nil) else {
                    Issue.record("expected queued")
                    return
                }
                fixture.clock.advance(by: .seconds(10))
            }
            guard
                case .rateLimited(let wait) = try await runs.requestRun(
                    fixture.alice, reportId: ids[3], userToken: nil)
            else {
                Issue.record("the fourth Run now in a minute is refused")
                return
            }
            #expect(wait == .seconds(30), "the first of the three leaves the window 60 s after it was queued")
            // Joining a run that already waits costs nothing, so it is not refused.
            guard case .joined = try await runs.requestRun(fixture.alice, reportId: ids[0], userToken: nil) else {
                Issue.record("expected joined")
                return
            }
            // Another user is not held back by alice.
            let bobs = try await fixture.reports.create(fixture.bob, ReportFixture.definition())
            guard case .queued = try await runs.requestRun(fixture.bob, reportId: bobs.id, userToken: nil) else {
                Issue.record("expected queued")
                return
            }
            fixture.clock.advance(by: .seconds(31))
            guard case .queued = try await runs.requestRun(fixture.alice, reportId: ids[3], userToken: nil) else {
                Issue.record("queued again after the window")
                return
            }
        }
    }

    /// The per-user limits count requests in a record of their own: deleting the reports (and with them
    /// their runs) does not give a user their Run nows back, and report writes have a limit too.
    @Test(arguments: StorageBackend.allCases)
    func limitsCountRequestsThatOutliveTheReports(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            var limits = TenantLimits()
            limits.reportWritesPerMinute = 6
            let reports = fixture.reports(limits: limits)
            let runs = fixture.runs(runNowPerMinute: 2)
            var ids: [String] = []
            for name in ["R1", "R2"] {
                ids.append(try await reports.create(fixture.alice, ReportFixture.definition(name)).id)
            }
            for id in ids {
                guard case .queued = try await runs.requestRun(fixture.alice, reportId: id, userToken: nil) else {
                    Issue.record("expected queued")
                    return
                }
            }
            for id in ids { #expect(try await reports.delete(fixture.alice, id: id)) }
            let third = try await reports.create(fixture.alice, ReportFixture.definition("R3"))
            guard case .rateLimited = try await runs.requestRun(fixture.alice, reportId: third.id, userToken: nil)
            else {
                Issue.record("deleting reports gave the Run nows back")
                return
            }
            _ = try await reports.update(fixture.alice, id: third.id, ReportFixture.definition("R3 renamed"))
            // Six writes in the minute: the seventh is refused, and changes nothing.
            let refused = await #expect(throws: UserRateLimitExceeded.self) {
                _ = try await reports.delete(fixture.alice, id: third.id)
            }
            #expect(refused?.kind == .reportWrite && refused?.retryAfter == .seconds(60))
            await #expect(throws: UserRateLimitExceeded.self) {
                _ = try await reports.create(fixture.alice, ReportFixture.definition("R4"))
            }
            #expect(try await reports.list(fixture.alice).map(\.name) == ["R3 renamed"])
            // Another user is not held back; after the window, alice writes again.
            _ = try await reports.create(fixture.bob, ReportFixture.definition("Bob's"))
            fixture.clock.advance(by: .seconds(61))
            #expect(try await reports.delete(fixture.alice, id: third.id))
        }
    }

    /// A control character in a name is refused at the field by the domain on every backend (it was a
    /// CHECK failure on SQLite and an encoding error on PostgreSQL: a 500).
    @Test(arguments: StorageBackend.allCases)
    func controlCharactersInANameAreRefusedAtTheField(_ backend: StorageBackend) async throws {
        try await backend.withStores { fixture in
            try await fixture.addInstallations()
            for name in ["\u{0}x", "a\u{1F}b", "tab\there", "del\u{7F}"] {
                let error = await #expect(throws: ReportValidationError.self) {
                    _ = try await fixture.reports.create(fixture.alice, ReportFixture.definition(name))
                }
                #expect(error?.field == "name", "\(name.debugDescription)")
            }
            #expect(try await fixture.reports.list(fixture.alice).isEmpty)
        }
    }

    /// A call that would change what is stored about the site is never skipped: the install event (no
    /// site URL) and, a moment later, the first user's call (with one). The second was skipped for a
    /// minute, so the first runs rendered every issue key without a link.
    @Test(arguments: StorageBackend.allCases)
    func theSitesURLIsStoredFromTheFirstCallThatCarriesItWhateverCameJustBefore(_ backend: StorageBackend)
        async throws
    {
        try await backend.withStores { stores in
            let site = ReportFixture.installationA
            try await stores.installations.record(ReportFixture.identity(site), systemToken: nil)
            #expect(try await stores.installations.installation(site)?.siteUrl == nil)
            let url = URL(string: "https://acme.atlassian.net")!
            try await stores.installations.record(
                ReportFixture.identity(site, siteUrl: url, principal: "557058:alice"), systemToken: nil)
            #expect(try await stores.installations.installation(site)?.siteUrl == url)
            // A call with nothing new (the trigger again) keeps it, and so does one without a site URL.
            try await stores.installations.record(ReportFixture.identity(site), systemToken: nil)
            #expect(try await stores.installations.installation(site)?.siteUrl == url)
            // A moved site is stored at once too.
            let moved = URL(string: "https://acme-corp.atlassian.net")!
            try await stores.installations.record(
                ReportFixture.identity(site, siteUrl: moved, principal: "557058:alice"), systemToken: nil)
            #expect(try await stores.installations.installation(site)?.siteUrl == moved)
        }
    }
}
