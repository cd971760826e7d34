/// Settings shared by every process, read from the environment once at start and validated.
///
/// Later issues add variables here; each one is validated in `init(environment:)` so that a bad value
/// stops the process before it touches anything.
public struct ReportsConfiguration: Sendable, Equatable {
    /// Path of the SQLite database file (`REPORTS_DATABASE`).
    public var databasePath: String

    public static let defaultDatabasePath = "./data/reports.sqlite"

    public init(databasePath: String = ReportsConfiguration.defaultDatabasePath) {
        self.databasePath = databasePath
    }

    /// Reads and validates the configuration. Throws the first problem found, naming its variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
        if let path = environment["REPORTS_DATABASE"] {
            try Self.validateDatabasePath(path)
            databasePath = path
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
            throw ConfigurationError(variable: variable, problem: "must name a file that every process can open, not an in-memory database")
        }
    }
}
