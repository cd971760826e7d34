public import ReportsSupport

/// OneNote's per-user request limits the workers and the API keep to together (docs/microsoft-apis.md
/// §4.2: 120 a minute, 400 an hour). Microsoft's numbers; lower them only to test against a sandbox
/// started with lower ones (`REPORTS_ONENOTE_PER_MINUTE`, `REPORTS_ONENOTE_PER_HOUR`).
public struct OneNoteLimits: Sendable, Equatable {
    public var perMinute = 120
    public var perHour = 400

    public init() {}

    public init(environment: [String: String]) throws(ConfigurationError) {
        perMinute = try ConfigurationError.wholeNumber(environment, "REPORTS_ONENOTE_PER_MINUTE", perMinute, 1...120)
        perHour = try ConfigurationError.wholeNumber(environment, "REPORTS_ONENOTE_PER_HOUR", perHour, 1...400)
    }
}
