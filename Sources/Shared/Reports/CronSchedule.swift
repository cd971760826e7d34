public import Foundation

/// A cron expression in an IANA time zone, and when it next runs.
///
/// Wall-clock semantics across daylight-saving changes:
/// - a time that does not exist (spring forward) runs at the moment the clocks jump, once;
/// - a time that occurs twice (fall back) runs at its first occurrence only — unless the hour field is
///   `*`, in which case the schedule follows real time and runs in both copies of the repeated hour.
public struct CronSchedule: Sendable, Equatable {
    let expression: CronExpression
    let timeZone: TimeZone

    public init(expression: CronExpression, timeZone: TimeZone) {
        self.expression = expression
        self.timeZone = timeZone
    }

    public init(cron: String, timeZone identifier: String) throws(CronExpressionError) {
        guard identifier.utf8.count <= 64, Self.looksLikeIANAName(identifier),
            let zone = TimeZone(identifier: identifier)
        else {
            throw CronExpressionError(message: "the time zone must be an IANA name such as Europe/Berlin or UTC")
        }
        self.init(expression: try CronExpression(cron), timeZone: zone)
    }

    /// `UTC`, or `Area/Location[/More]` of letters, digits, `_`, `+`, `-` (what the tz database uses);
    /// the system's tz database must also know it. Abbreviations such as `CET` are refused: ambiguous.
    static func looksLikeIANAName(_ identifier: String) -> Bool {
        if identifier == "UTC" { return true }
        let parts = identifier.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0 != ".." && $0 != "." }) else { return false }
        return identifier.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"):
                true
            default: false
            }
        }
    }

    /// The first run strictly after `date`, or nil if none within eight years (e.g. `0 0 31 2 *`).
    public func nextRun(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // Start a day early: near midnight, a fall-back can put an instant after `date` on the day before.
        guard var day = calendar.date(byAdding: .day, value: -1, to: calendar.startOfDay(for: date)) else { return nil }
        let sortedHours = expression.hours.sorted()
        let sortedMinutes = expression.minutes.sorted()
        for _ in 0..<(8 * 366 + 2) {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let year = parts.year, let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday,
                expression.matches(month: month, day: dayOfMonth, weekday: weekday - 1)
            {
                var instants: [Date] = []
                for hour in sortedHours {
                    for minute in sortedMinutes {
                        instants += resolve(year: year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                    }
                }
                if let next = instants.filter({ $0 > date }).min() { return next }
            }
            guard let following = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = following
        }
        return nil
    }

    /// The instants at which a local wall-clock time happens in this zone: one normally, none made
    /// into the jump's moment in a gap, the first (or both, for `*` hours) in an overlap.
    private func resolve(year: Int, month: Int, day: Int, hour: Int, minute: Int) -> [Date] {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        guard let asUTC = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))
        else { return [] }
        let local = asUTC.timeIntervalSince1970
        // Offsets in force a day either side; a time zone changes offset at most once in between.
        let before = TimeInterval(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local - 86_400)))
        let after = TimeInterval(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local + 86_400)))
        let valid = Set([before, after]).filter { offset in
            TimeInterval(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local - offset))) == offset
        }.map { Date(timeIntervalSince1970: local - $0) }.sorted()
        if valid.isEmpty {
            // In the gap: the clocks jump at the transition, which lies after `local - after`.
            let jump = timeZone.nextDaylightSavingTimeTransition(
                after: Date(timeIntervalSince1970: local - max(before, after)))
            return [jump ?? Date(timeIntervalSince1970: local - before)]
        }
        return expression.everyHour ? valid : [valid[0]]
    }
}
