import Foundation
public import PostgresNIO
import ReportsSupport

/// Where the PostgreSQL backend connects, read from `REPORTS_DATABASE` (docs/postgresql.md).
///
/// `postgres://user@host:port/database?sslmode=verify-full` (or `postgresql://`). A Unix socket is
/// chosen like libpq does, with `?host=/path/to/socket-folder`. The password never sits in the URL
/// (URLs end up in process listings, shell histories and logs): it comes from
/// `REPORTS_DATABASE_PASSWORD` or from the file named by `REPORTS_DATABASE_PASSWORD_FILE`, and a URL
/// that carries one is refused.
public struct PostgresSettings: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// libpq's `sslmode` values (https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file itself (`<folder>/.s.PGSQL.<port>`).
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    public var username: String
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of the certificate authorities to trust (`sslrootcert`); the system's when nil.
    public var rootCertificatePath: String?
    public var password: String?
    /// Most connections one process opens (`REPORTS_DATABASE_MAX_CONNECTIONS`, default 10): the
    /// server's `max_connections` must cover every process's pool (RUNBOOK.md).
    public var maxConnections: Int

    /// What logs may show (ServiceLifecycle logs each service's description when it starts): the
    /// endpoint, user, database and TLS mode; never the password.
    public var description: String {
        let place: String
        switch endpoint {
        case .tcp(let host, let port): place = "\(host):\(port)"
        case .unixSocket(let path): place = path
        }
        return
            "PostgresSettings(\(username)@\(place)/\(database), sslmode \(sslMode.rawValue), password \(password == nil ? "none" : "set"), max \(maxConnections) connections)"
    }

    public var debugDescription: String { description }

    /// Whether `value` (a `REPORTS_DATABASE`) names PostgreSQL rather than an SQLite file.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Reads the settings; every error names the variable at fault and never its value.
    public init(url value: String, environment: [String: String]) throws {
        let variable = "REPORTS_DATABASE"
        guard Self.isPostgresURL(value), let components = URLComponents(string: value) else {
            throw ConfigurationError(variable: variable, problem: "is not a postgres:// URL")
        }
        if components.password != nil {
            throw ConfigurationError(
                variable: variable,
                problem:
                    "must not carry a password; set REPORTS_DATABASE_PASSWORD or REPORTS_DATABASE_PASSWORD_FILE instead"
            )
        }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw ConfigurationError(variable: variable, problem: "names no user (postgres://USER@host/database)")
        }
        let name = String(components.percentEncodedPath.dropFirst()).removingPercentEncoding ?? ""
        guard !name.isEmpty, !name.contains("/") else {
            throw ConfigurationError(variable: variable, problem: "names no database (postgres://user@host/DATABASE)")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set<String> = ["sslmode", "sslrootcert", "host", "port"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError(
                variable: variable, problem: "has an unknown parameter \(unknown) (known: sslmode, sslrootcert, host)")
        }
        let port = try Self.port(components.port ?? query["port"].flatMap(Int.init) ?? 5432, variable)
        if let folder = query["host"], folder.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(folder)/.s.PGSQL.\(port)")
        } else {
            guard let host = components.host ?? query["host"], !host.isEmpty else {
                throw ConfigurationError(variable: variable, problem: "names no host")
            }
            endpoint = .tcp(host: host, port: port)
        }
        if let mode = query["sslmode"] {
            guard let parsed = SSLMode(rawValue: mode) else {
                throw ConfigurationError(
                    variable: variable,
                    problem:
                        "has an unknown sslmode (one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            sslMode = parsed
        } else {
            // Secure unless told otherwise: a server reached over the network must prove who it is.
            // (libpq defaults to `prefer`, which an attacker in the middle can downgrade.)
            if case .unixSocket = endpoint { sslMode = .disable } else { sslMode = .verifyFull }
        }
        rootCertificatePath = query["sslrootcert"]
        username = user
        database = name
        password = try Self.password(environment)
        let poolVariable = "REPORTS_DATABASE_MAX_CONNECTIONS"
        if let text = environment[poolVariable], !text.isEmpty {
            guard let count = Int(text), (1...500).contains(count) else {
                throw ConfigurationError(variable: poolVariable, problem: "must be a whole number from 1 to 500")
            }
            maxConnections = count
        } else {
            maxConnections = 10
        }
    }

    private static func port(_ port: Int, _ variable: String) throws -> Int {
        guard (1...65535).contains(port) else {
            throw ConfigurationError(variable: variable, problem: "has a port outside 1–65535")
        }
        return port
    }

    private static func password(_ environment: [String: String]) throws -> String? {
        if let password = environment["REPORTS_DATABASE_PASSWORD"], !password.isEmpty { return password }
        let fileVariable = "REPORTS_DATABASE_PASSWORD_FILE"
        guard let path = environment[fileVariable], !path.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigurationError(variable: fileVariable, problem: "names a file that cannot be read")
        }
        let password = text.trimmingCharacters(in: .newlines)
        guard !password.isEmpty else {
            throw ConfigurationError(variable: fileVariable, problem: "names an empty file")
        }
        return password
    }

    /// The client configuration: TLS 1.2 at least, and certificate checks as `sslmode` asks.
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch endpoint {
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: username, password: password, database: database)
        case .tcp(let host, let port):
            configuration = .init(
                host: host, port: port, username: username, password: password, database: database,
                tls: try tls())
        }
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    private func tls() throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let path = rootCertificatePath {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError(
                    variable: "REPORTS_DATABASE", problem: "has an sslrootcert that cannot be read")
            }
            tls.trustRoots = .file(path)
        }
        return .require(tls)
    }
}
