import Foundation

extension CronExpression {
    /// The shortest gap, in minutes of wall-clock time, between two consecutive runs of this schedule
    /// (nil when it runs at most once in the years it repeats over). Used for the shortest-interval
    /// quota. Computed, not sampled: the gaps within a day come from the hour and minute
    /// fields; the gap across midnight is the last run of one run day to the first of the next.
    /// Daylight-saving shifts are not counted: a quota is about what the user asked for.
    package var shortestIntervalMinutes: Int? {
        let times = hours.sorted().flatMap { hour in minutes.sorted().map { hour * 60 + $0 } }
        guard let first = times.first, let last = times.last else { return nil }
        var shortest: Int?
        for (earlier, later) in zip(times, times.dropFirst()) { shortest = min(shortest ?? .max, later - earlier) }
        if let days = shortestDayGap { shortest = min(shortest ?? .max, days * 1440 - last + first) }
        return shortest
    }

    /// The fewest days between two consecutive run days, over eight years (two leap cycles: every
    /// weekday and month-day combination, 29 February included, occurs).
    private var shortestDayGap: Int? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = calendar.date(from: DateComponents(year: 2024, month: 1, day: 1))!
        var previous: Int?
        var shortest: Int?
        for index in 0..<(8 * 366) {
            let parts = calendar.dateComponents([.month, .day, .weekday], from: day)
            if matches(month: parts.month!, day: parts.day!, weekday: parts.weekday! - 1) {
                if let previous { shortest = min(shortest ?? .max, index - previous) }
                if shortest == 1 { return 1 }
                previous = index
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return shortest
    }
}
