public import ReportsSupport

/// Whether a Jira site needs an active licence of the app (`REPORTS_REQUIRE_LICENSE`, off by default
/// for development; docs/atlassian-apis.md §10). Forge says whether the site's licence is active in
/// each invocation token of a paid app in production (`app.license.isActive`), user calls and the
/// scheduled trigger alike; a token without the claim says nothing.
///
/// With the requirement on, a user's Run now and any change that would make a report run on a schedule
/// need a token that says active, and a site's schedules pause once a Forge call has said its licence
/// is not active (until a call says it is again: missed slots then collapse into one run, as after any
/// pause). A site no call has spoken for yet keeps its schedules: its next trigger, within the hour,
/// says. Reading reports, editing them without a schedule, deleting them and disconnecting stay open.
public struct LicensePolicy: Sendable, Equatable {
    public var required: Bool

    public init(required: Bool = false) { self.required = required }

    public init(environment: [String: String]) throws(ConfigurationError) {
        switch environment["REPORTS_REQUIRE_LICENSE"] {
        case nil, "", "0": required = false
        case "1": required = true
        default: throw ConfigurationError(variable: "REPORTS_REQUIRE_LICENSE", problem: "must be 0 or 1")
        }
    }

    /// Whether a user's call whose token says `licenseActive` may run a report or schedule one.
    public func permitsRuns(licenseActive: Bool?) -> Bool { !required || licenseActive == true }

    /// Whether the scheduler leaves out the sites whose stored licence state says not active.
    public var pausesUnlicensedSites: Bool { required }
}
