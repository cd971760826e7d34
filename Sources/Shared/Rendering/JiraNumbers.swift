/// Numbers and durations as a report shows them, the same on every page whatever the reader's
/// locale (docs/jira-fields.md, "How values are shown"): whole numbers grouped by threes with a narrow
/// no-break space (`1 234 567`, as SI writes them), a point before at most six decimals and no
/// trailing zeros (`2.5`, not `2.500000000001`); durations as Jira writes them (`1w 2d 3h 30m`).
public enum JiraNumbers {
    /// The group separator: U+202F NARROW NO-BREAK SPACE.
    static let groupSeparator = "\u{202F}"

    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "" }
        let magnitude = abs(value)
        guard magnitude < 1e15 else { return String(value) }
        var whole = UInt64(magnitude.rounded(.down))
        var fraction = UInt64(((magnitude - Double(whole)) * 1_000_000).rounded())
        if fraction == 1_000_000 {
            whole += 1
            fraction = 0
        }
        var text = grouped(whole)
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 6 - digits.count) + digits
            while digits.last == "0" { digits.removeLast() }
            text += "." + digits
        }
        return value < 0 && (whole > 0 || fraction > 0) ? "-" + text : text
    }

    static func grouped(_ value: UInt64) -> String {
        let digits = String(value)
        guard digits.count > 3 else { return digits }
        var output = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { output += groupSeparator }
            output.append(digit)
        }
        return output
    }

    /// Jira's own duration words: weeks, days, hours, minutes, with Jira's default working time
    /// (8 hours a day, 5 days a week; a site may set others, which its own strings carry).
    public static func duration(seconds: Double, hoursPerDay: Int = 8, daysPerWeek: Int = 5) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "" }
        var minutes = Int((seconds / 60).rounded())
        let perDay = hoursPerDay * 60
        let perWeek = daysPerWeek * perDay
        var parts: [String] = []
        for (size, unit) in [(perWeek, "w"), (perDay, "d"), (60, "h"), (1, "m")] where minutes >= size {
            parts.append("\(minutes / size)\(unit)")
            minutes %= size
        }
        return parts.isEmpty ? "0m" : parts.joined(separator: " ")
    }
}
