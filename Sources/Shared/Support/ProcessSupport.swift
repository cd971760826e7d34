public import Logging
public import Foundation

/// Start-up helpers every executable uses, so they fail and log the same way.
public enum ProcessSupport {
    /// Exit status for a configuration error (sysexits' EX_CONFIG).
    public static let configurationExitCode: Int32 = 78

    /// Logs go to standard error as one JSON object per line, at the configured level.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }

    /// Reads the configuration or stops the process with one line naming the variable at fault.
    public static func loadConfiguration(program: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> ReportsConfiguration {
        do {
            return try ReportsConfiguration(environment: environment)
        } catch {
            fail(program: program, "\(error)", exitCode: configurationExitCode)
        }
    }

    /// Prints `program: message` on standard error and exits.
    public static func fail(program: String, _ message: String, exitCode: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        exit(exitCode)
    }
}
