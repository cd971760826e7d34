/// A five-field cron expression: minute, hour, day of month, month, day of week.
///
/// Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those.
/// Months may be `JAN`–`DEC`, days of week `SUN`–`SAT` (0 and 7 are both Sunday). As in Vixie cron,
/// when both day of month and day of week are restricted, a day matching either runs.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    let daysOfWeek: Set<Int>
    /// The hour field was `*`: in the repeated hour of a DST fall-back, such a schedule runs in both.
    let everyHour: Bool
    let daysOfMonthRestricted: Bool
    let daysOfWeekRestricted: Bool
    public let description: String

    public init(_ text: String) throws(CronExpressionError) {
        guard text.utf8.count <= 200 else { throw .init("is longer than 200 characters") }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 5 else {
            throw .init("must have 5 fields (minute hour day-of-month month day-of-week), not \(fields.count)")
        }
        minutes = try Self.parse(fields[0], name: "minute", range: 0...59, names: [:])
        hours = try Self.parse(fields[1], name: "hour", range: 0...23, names: [:])
        daysOfMonth = try Self.parse(fields[2], name: "day-of-month", range: 1...31, names: [:])
        months = try Self.parse(fields[3], name: "month", range: 1...12, names: Self.monthNames)
        let weekdays = try Self.parse(fields[4], name: "day-of-week", range: 0...7, names: Self.dayNames)
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        everyHour = fields[1] == "*"
        daysOfMonthRestricted = fields[2] != "*"
        daysOfWeekRestricted = fields[4] != "*"
        description = fields.joined(separator: " ")
    }

    /// Whether a calendar day (month 1–12, day 1–31, weekday 0 = Sunday) runs.
    func matches(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        switch (daysOfMonthRestricted, daysOfWeekRestricted) {
        case (true, true): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): return daysOfMonth.contains(day)
        case (false, true): return daysOfWeek.contains(weekday)
        case (false, false): return true
        }
    }

    private static let monthNames = [
        "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11,
        "DEC": 12,
    ]
    private static let dayNames = ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]

    private static func parse(_ field: Substring, name: String, range: ClosedRange<Int>, names: [String: Int])
        throws(CronExpressionError) -> Set<Int>
    {
        var values = Set<Int>()
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw .init("has a bad \(name) field: '\(item)' has more than one '/'") }
            var step = 1
            if stepParts.count == 2 {
                guard let parsed = Int(stepParts[1]), parsed >= 1, parsed <= range.upperBound else {
                    throw .init(
                        "has a bad \(name) field: the step in '\(item)' must be a number from 1 to \(range.upperBound)")
                }
                step = parsed
            }
            let base = stepParts[0]
            let bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else {
                let ends = base.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw .init("has a bad \(name) field: '\(item)' is not a value or range") }
                let low = try value(ends[0], name: name, range: range, names: names)
                let high =
                    ends.count == 2
                    ? try value(ends[1], name: name, range: range, names: names)
                    : (stepParts.count == 2 ? range.upperBound : low)
                guard low <= high else { throw .init("has a bad \(name) field: the range '\(base)' runs backwards") }
                bounds = low...high
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }

    private static func value(_ text: Substring, name: String, range: ClosedRange<Int>, names: [String: Int])
        throws(CronExpressionError) -> Int
    {
        if let number = Int(text), range.contains(number) { return number }
        if let named = names[text.uppercased()] { return named }
        throw .init("has a bad \(name) field: '\(text)' is not a value from \(range.lowerBound) to \(range.upperBound)")
    }
}

/// Why a schedule is refused, in words for the report's owner.
public struct CronExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    let message: String
    /// A problem with the cron expression (the text continues "the cron expression …").
    init(_ detail: String) { message = "the cron expression " + detail }
    init(message: String) { self.message = message }
    public var description: String { message }
}
