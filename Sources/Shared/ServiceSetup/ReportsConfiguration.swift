public import Logging
public import Reports
public import ReportsSupport
public import Transport

/// Settings shared by every process, read from the environment once at start and validated.
///
/// Later issues add variables here; each one is validated in `init(environment:)` so that a bad value
/// stops the process before it touches anything.
public struct ReportsConfiguration: Sendable, Equatable {
    /// Path of the SQLite database file (`REPORTS_DATABASE`).
    public var databasePath: String
    /// `REPORTS_DATABASE` when it is a `postgres://` URL (docs/postgresql.md); the URL is
    /// parsed by `PostgresSettings` where the database is opened. `databasePath` is then unused.
    public var postgresURL: String?
    /// `REPORTS_LOG_LEVEL`: trace, debug, info (default), notice, warning, error or critical.
    public var logLevel: Logger.Level
    /// `REPORTS_SANDBOX=1` allows plain-HTTP upstreams on loopback addresses (the sandbox);
    /// without it every upstream must be HTTPS.
    public var sandboxMode: Bool
    /// Quotas and the queue's fairness settings.
    public var limits = TenantLimits()
    /// How long history and silent sites are kept (PRIVACY.md).
    public var retention = RetentionRules()
    /// Timeouts and the connection cap of this process's HTTP server (the API, a worker's metrics port).
    public var http = HTTPServerLimits()
    /// Whether sites need an active licence of the app to run reports (`REPORTS_REQUIRE_LICENSE`).
    public var license = LicensePolicy()

    public static let defaultDatabasePath = "./data/reports.sqlite"

    public init(
        databasePath: String = ReportsConfiguration.defaultDatabasePath, logLevel: Logger.Level = .info,
        sandboxMode: Bool = false
    ) {
        self.databasePath = databasePath
        self.logLevel = logLevel
        self.sandboxMode = sandboxMode
    }

    /// Which upstream URLs this process may call.
    public var outboundPolicy: OutboundURLPolicy { sandboxMode ? .sandbox : .production }

    /// Reads and validates the configuration. Throws the first problem found, naming its variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
        if let value = environment["REPORTS_DATABASE"] {
            if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
                postgresURL = value
            } else {
                try Self.validateDatabasePath(value)
                databasePath = value
            }
        }
        if let level = environment["REPORTS_LOG_LEVEL"], !level.isEmpty {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    variable: "REPORTS_LOG_LEVEL",
                    problem: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = parsed
        }
        limits = try TenantLimits(environment: environment)
        retention = try RetentionRules(environment: environment)
        http = try HTTPServerLimits(environment: environment)
        license = try LicensePolicy(environment: environment)
        switch environment["REPORTS_SANDBOX"] {
        case nil, "", "0": sandboxMode = false
        case "1": sandboxMode = true
        default: throw ConfigurationError(variable: "REPORTS_SANDBOX", problem: "must be 0 or 1")
        }
    }

    static func validateDatabasePath(_ path: String) throws(ConfigurationError) {
        let variable = "REPORTS_DATABASE"
        if path.isEmpty {
            throw ConfigurationError(variable: variable, problem: "is empty; set it to the path of the SQLite file")
        }
        if path.utf8.contains(0) {
            throw ConfigurationError(variable: variable, problem: "contains a NUL byte")
        }
        if path.utf8.count > 4096 {
            throw ConfigurationError(variable: variable, problem: "is longer than 4096 bytes")
        }
        if path.hasSuffix("/") {
            throw ConfigurationError(variable: variable, problem: "names a directory; it must name a file")
        }
        // An in-memory or temporary database cannot be shared by the API, cron and worker processes.
        if path == ":memory:" || path.hasPrefix("file::memory:") {
            throw ConfigurationError(
                variable: variable, problem: "must name a file that every process can open, not an in-memory database")
        }
    }
}
