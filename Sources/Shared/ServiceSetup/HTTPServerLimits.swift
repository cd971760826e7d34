public import Hummingbird
public import HummingbirdCore
public import Logging
import NIOCore
public import ReportsSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What every HTTP server of ours keeps to (the API and the workers' metrics port), so half-open
/// connections cannot pile up until the process runs out of file descriptors (the second security
/// review kept 1,100 half-sent requests open for 45 s; under a 1,024-descriptor limit the API died):
///
/// - a request's head and body must arrive within `requestTimeout` of the connection being ready for
///   it (`RequestDeadlineHandler`), however slowly its bytes trickle;
/// - a connection with nothing to do is closed after `idleTimeout` (Hummingbird's idle handler);
/// - at most `maxConnections` are open at once, fewer when the descriptor limit is low: past it the
///   server stops accepting (new connections wait in the kernel's backlog) and keeps serving the ones
///   it has.
public struct HTTPServerLimits: Sendable, Equatable {
    /// `REPORTS_HTTP_REQUEST_TIMEOUT_SECONDS` (default 10): Forge's own calls time out after 25 s.
    public var requestTimeout: Duration = .seconds(10)
    /// `REPORTS_HTTP_IDLE_TIMEOUT_SECONDS` (default 60): a keep-alive connection's idle time.
    public var idleTimeout: Duration = .seconds(60)
    /// `REPORTS_HTTP_MAX_CONNECTIONS` (default 1,000).
    public var maxConnections = 1_000

    public init() {}

    public init(environment: [String: String]) throws(ConfigurationError) {
        requestTimeout = .seconds(
            try ConfigurationError.wholeNumber(environment, "REPORTS_HTTP_REQUEST_TIMEOUT_SECONDS", 10, 1...300))
        idleTimeout = .seconds(
            try ConfigurationError.wholeNumber(environment, "REPORTS_HTTP_IDLE_TIMEOUT_SECONDS", 60, 1...3_600))
        maxConnections = try ConfigurationError.wholeNumber(
            environment, "REPORTS_HTTP_MAX_CONNECTIONS", 1_000, 1...1_000_000)
    }

    /// The process's soft limit on open files (RLIMIT_NOFILE).
    public static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
    }

    /// The connections allowed under `descriptorLimit`: the rest (at most 256, at least half) stays for
    /// the database, outbound HTTP, logs and the runtime, so accepting never takes the last descriptor
    /// something else needs.
    public func connectionCap(descriptorLimit: Int) -> Int {
        let reserve = min(256, descriptorLimit / 2)
        return max(1, min(maxConnections, descriptorLimit - reserve))
    }

    /// Hummingbird's configuration with the connection cap for this process's descriptor limit.
    public func configuration(address: BindAddress, serverName: String? = nil, logger: Logger)
        -> ApplicationConfiguration
    {
        ApplicationConfiguration(
            address: address, serverName: serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(
                connectionCap(descriptorLimit: Self.descriptorLimit()), logger: logger))
    }

    /// HTTP/1.1 with the request deadline and the idle timeout.
    public var server: HTTPServerBuilder {
        let (request, idle) = (requestTimeout, idleTimeout)
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(timeout: request)],
                idleTimeout: TimeAmount(idle)))
    }
}
