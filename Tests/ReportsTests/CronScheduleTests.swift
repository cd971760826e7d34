import Foundation
import Testing

@testable import Reports

@Suite("Cron schedules")
struct CronScheduleTests {
    func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }
    func text(_ date: Date) -> String { date.formatted(.iso8601) }

    /// The next `count` runs after `start`, as UTC ISO-8601 strings.
    func runs(_ cron: String, _ zone: String, after start: String, count: Int) throws -> [String] {
        let schedule = try CronSchedule(cron: cron, timeZone: zone)
        var date = utc(start)
        var result: [String] = []
        for _ in 0..<count {
            date = try #require(schedule.nextRun(after: date))
            result.append(text(date))
        }
        return result
    }

    @Test func hourlyRunsEveryRealHourAcrossBerlinsDaylightSavingChanges() throws {
        // 2026-03-29 01:00Z: 02:00 CET becomes 03:00 CEST. No hour is lost or doubled in real time.
        #expect(
            try runs("0 * * * *", "Europe/Berlin", after: "2026-03-28T22:30:00Z", count: 5) == [
                "2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z",
                "2026-03-29T03:00:00Z",
            ])
        // 2026-10-25 01:00Z: 03:00 CEST becomes 02:00 CET; the repeated hour runs in both copies.
        #expect(
            try runs("0 * * * *", "Europe/Berlin", after: "2026-10-24T22:30:00Z", count: 5) == [
                "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z",
                "2026-10-25T03:00:00Z",
            ])
    }

    @Test func hourlyRunsEveryRealHourAcrossNewYorksDaylightSavingChanges() throws {
        // 2026-03-08 07:00Z: 02:00 EST becomes 03:00 EDT.
        #expect(
            try runs("0 * * * *", "America/New_York", after: "2026-03-08T05:30:00Z", count: 4) == [
                "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z",
            ])
        // 2026-11-01 06:00Z: 02:00 EDT becomes 01:00 EST; 01:00 local happens twice and both run.
        #expect(
            try runs("0 * * * *", "America/New_York", after: "2026-11-01T04:30:00Z", count: 4) == [
                "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z",
            ])
        // Every 30 minutes through the repeated hour.
        #expect(
            try runs("*/30 * * * *", "America/New_York", after: "2026-11-01T04:45:00Z", count: 5) == [
                "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z",
                "2026-11-01T07:00:00Z",
            ])
    }

    @Test func aFixedTimeInTheGapRunsAtTheJumpAndInTheOverlapRunsOnce() throws {
        // 02:30 does not exist in Berlin on 2026-03-29: it runs when the clocks jump (01:00Z = 03:00 CEST).
        #expect(
            try runs("30 2 * * *", "Europe/Berlin", after: "2026-03-27T12:00:00Z", count: 4) == [
                "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z",
            ])
        // 02:30 happens twice in Berlin on 2026-10-25: the first (00:30Z, CEST) only.
        #expect(
            try runs("30 2 * * *", "Europe/Berlin", after: "2026-10-23T12:00:00Z", count: 4) == [
                "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z",
            ])
        // New York: 2026-03-08 02:30 does not exist (jump at 07:00Z); 2026-11-01 01:30 happens twice.
        #expect(
            try runs("30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z", count: 2) == [
                "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z",
            ])
        #expect(
            try runs("30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z", count: 2) == [
                "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z",
            ])
    }

    @Test func weekdaySchedulesKeepTheirLocalTimeAcrossTheChange() throws {
        // 09:00 on weekdays in New York: 14:00Z in EST, 13:00Z in EDT (from 2026-03-08), back on 2026-11-01.
        #expect(
            try runs("0 9 * * 1-5", "America/New_York", after: "2026-03-05T15:00:00Z", count: 3) == [
                "2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z",
            ])
        #expect(
            try runs("0 9 * * MON-FRI", "America/New_York", after: "2026-10-29T14:00:00Z", count: 3) == [
                "2026-10-30T13:00:00Z", "2026-11-02T14:00:00Z", "2026-11-03T14:00:00Z",
            ])
        // 08:15 on weekdays in Berlin across the spring change.
        #expect(
            try runs("15 8 * * 1-5", "Europe/Berlin", after: "2026-03-26T08:00:00Z", count: 3) == [
                "2026-03-27T07:15:00Z", "2026-03-30T06:15:00Z", "2026-03-31T06:15:00Z",
            ])
    }

    @Test func fieldsListsRangesStepsAndTheDayRule() throws {
        let expression = try CronExpression("*/15 9-17/4 1,15 JAN-MAR 0")
        #expect(expression.minutes == [0, 15, 30, 45])
        #expect(expression.hours == [9, 13, 17])
        #expect(expression.daysOfMonth == [1, 15])
        #expect(expression.months == [1, 2, 3])
        #expect(expression.daysOfWeek == [0])
        // Day of month OR day of week when both are restricted (Vixie cron).
        #expect(expression.matches(month: 1, day: 1, weekday: 3))
        #expect(expression.matches(month: 1, day: 4, weekday: 0))
        #expect(!expression.matches(month: 1, day: 4, weekday: 3))
        #expect(!expression.matches(month: 4, day: 1, weekday: 0))
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == [0], "7 is Sunday too")
        // Leap day only.
        #expect(try runs("0 12 29 2 *", "UTC", after: "2026-03-01T00:00:00Z", count: 1) == ["2028-02-29T12:00:00Z"])
        #expect(try CronSchedule(cron: "0 0 31 2 *", timeZone: "UTC").nextRun(after: Date()) == nil)
    }

    @Test func badExpressionsAndZonesAreRefusedWithAReason() {
        for (cron, fragment) in [
            ("* * * *", "must have 5 fields"), ("60 * * * *", "minute field"), ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"), ("* * * 13 *", "month field"), ("* * * * 8", "day-of-week field"),
            ("*/0 * * * *", "step"), ("5-1 * * * *", "runs backwards"), ("a * * * *", "minute field"),
            ("1/2/3 * * * *", "more than one"), (String(repeating: "1,", count: 150) + "1 * * * *", "longer than 200"),
        ] {
            let error = #expect(throws: CronExpressionError.self) { try CronExpression(cron) }
            #expect(error?.message.contains(fragment) == true, "\(cron): \(error?.message ?? "")")
        }
        for zone in ["Mars/Olympus", "", "CET", "CET+1", "../../etc/passwd", "Europe/../Berlin", "Europe/Berlin "] {
            #expect(throws: CronExpressionError.self) { try CronSchedule(cron: "0 * * * *", timeZone: zone) }
        }
        #expect(throws: Never.self) { try CronSchedule(cron: "0 * * * *", timeZone: "UTC") }
        #expect(throws: Never.self) { try CronSchedule(cron: "0 * * * *", timeZone: "Asia/Kolkata") }
    }
}
