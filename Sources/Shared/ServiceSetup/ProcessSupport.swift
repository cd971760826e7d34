public import Foundation
public import Logging
import ReportsSupport
public import ServiceLifecycle
import Telemetry

#if canImport(Glibc)
    import Glibc
#endif

/// Start-up helpers every executable uses, so they fail and log the same way.
public enum ProcessSupport {
    /// Exit status for a configuration error (sysexits' EX_CONFIG).
    public static let configurationExitCode: Int32 = 78

    /// Logs go to standard error as one JSON object per line, at the configured level; a line logged
    /// inside a span carries its `trace_id` and `span_id`.
    public static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap(
            { label, provider in JSONLogHandler(label: label, level: level, metadataProvider: provider) },
            metadataProvider: TraceExport.logMetadata)
    }

    /// Starts exporting this process's spans when the OTel variables ask for it (docs/tracing.md) and
    /// returns the exporter's service, to be the first of the process's services (it stops last and
    /// sends the final spans); nil when tracing is off. A variable it cannot use stops the process.
    public static func startTracing(program: String) -> (any Service)? {
        do {
            return try TraceExport.bootstrap(serviceName: "onenote-reports-\(program)")
        } catch {
            fail(program: program, error.description, exitCode: configurationExitCode)
        }
    }

    /// Reads the configuration or stops the process with one line naming the variable at fault.
    public static func loadConfiguration(
        program: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ReportsConfiguration {
        do {
            return try ReportsConfiguration(environment: environment)
        } catch {
            fail(program: program, "\(error)", exitCode: configurationExitCode)
        }
    }

    /// Files this process creates are private to its user (umask 077) however it was started: the
    /// database, its WAL and SHM (SQLite gives them the database's mode), backups, the data folder and
    /// the TLS floor's configuration file. systemd's `UMask=` did this only for systemd.
    public static func restrictFileModes() {
        umask(0o077)
    }

    /// Lets glibc keep freed heap memory instead of handing it back to the kernel after every free
    /// of more than 128 KiB at the top of a heap (its default `M_TRIM_THRESHOLD`). SQLite allocates
    /// and frees a page cache for each temporary b-tree (an `IN (…)` list, a `RETURNING` buffer), so a
    /// busy worker's every lease transaction returned memory with `madvise` and faulted it back in:
    /// measured with `perf` on a 100,000-job drain, a third of the worker's CPU time was page faults
    /// and `madvise`, and keeping 32 MiB raised one process's drain from ~11,000 to ~25,000 jobs/s
    /// (BENCHMARKS.md, "Fair queue"). The cost is at most 32 MiB kept per heap after a burst.
    @discardableResult
    public static func keepFreedMemory(upTo bytes: Int32 = 32 << 20) -> Bool {
        #if canImport(Glibc)
            // `mallopt` lives in <malloc.h>, which the Glibc module does not import; M_TRIM_THRESHOLD is -1.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let program = dlopen(nil, RTLD_NOW), let symbol = dlsym(program, "mallopt") else { return false }
            return unsafeBitCast(symbol, to: Mallopt.self)(-1, bytes) == 1
        #else
            return false
        #endif
    }

    /// Prints `program: message` on standard error and exits.
    public static func fail(program: String, _ message: String, exitCode: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        exit(exitCode)
    }
}
