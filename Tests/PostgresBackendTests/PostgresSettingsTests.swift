import Foundation
import Logging
import ReportsSupport
import Testing

@testable import PostgresBackend

/// `REPORTS_DATABASE=postgres://…` is read strictly: every mistake names the variable, never a value.
@Suite("PostgreSQL settings")
struct PostgresSettingsTests {
    @Test func aURLSelectsHostPortDatabaseAndAVerifiedTLSByDefault() throws {
        let settings = try PostgresSettings(
            url: "postgres://reports@db.example.internal:6543/reports_prod", environment: [:])
        #expect(settings.endpoint == .tcp(host: "db.example.internal", port: 6543))
        #expect(settings.username == "reports" && settings.database == "reports_prod")
        #expect(settings.sslMode == .verifyFull, "over TCP the server must prove who it is unless told otherwise")
        #expect(settings.password == nil && settings.maxConnections == 10)
        #expect(
            PostgresSettings.isPostgresURL("postgresql://u@h/d") && !PostgresSettings.isPostgresURL("/var/x.sqlite"))

        let socket = try PostgresSettings(
            url: "postgresql://reports@localhost/reports?host=/run/postgresql", environment: [:])
        #expect(socket.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        #expect(socket.sslMode == .disable)
        let modes = try PostgresSettings.SSLMode.allCases.map {
            try PostgresSettings(url: "postgres://u@h/d?sslmode=\($0.rawValue)", environment: [:]).sslMode
        }
        #expect(modes == PostgresSettings.SSLMode.allCases)
    }

    @Test func thePasswordComesFromTheEnvironmentOrAFileNeverTheURL() throws {
        let secret = "s3cr3t-Pa55word"
        let fromValue = try PostgresSettings(
            url: "postgres://u@h/d", environment: ["REPORTS_DATABASE_PASSWORD": secret])
        #expect(fromValue.password == secret)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pg-password-\(UUID().uuidString)")
        try Data((secret + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try PostgresSettings(
            url: "postgres://u@h/d", environment: ["REPORTS_DATABASE_PASSWORD_FILE": file.path])
        #expect(fromFile.password == secret, "the file's trailing newline is not part of the password")

        let error = try #require(throws: ConfigurationError.self) {
            try PostgresSettings(url: "postgres://u:\(secret)@h/d", environment: [:])
        }
        #expect(error.variable == "REPORTS_DATABASE")
        #expect(!error.description.contains(secret))
    }

    /// ServiceLifecycle logs every service's description when it starts (seen in a worker's debug log:
    /// the database service printed its settings field by field): the password must not be in it.
    @Test func noDescriptionShowsThePassword() throws {
        let secret = "s3cr3t-Pa55word"
        let settings = try PostgresSettings(
            url: "postgres://reports@db.internal:5432/reports?sslmode=require",
            environment: ["REPORTS_DATABASE_PASSWORD": secret])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let database = try PostgresReportsDatabase(settings: settings, logger: logger)
        let wrapped: [Any] = [database]  // as a field of another value: printed through reflection
        for text in [
            String(describing: settings), String(reflecting: settings), "\(database)", String(reflecting: database),
            String(describing: wrapped),
        ] {
            #expect(!text.contains(secret), "\(text)")
            #expect(text.contains("db.internal:5432") || text.contains("PostgresReportsDatabase"))
        }
        #expect(String(describing: settings).contains("password set"))
    }

    @Test func mistakesNameTheVariableAndNeverItsValue() throws {
        let cases: [(url: String, environment: [String: String], variable: String)] = [
            ("postgres://h/d", [:], "REPORTS_DATABASE"),  // no user
            ("postgres://u@h/", [:], "REPORTS_DATABASE"),  // no database
            ("postgres://u@h/d?sslmode=verify-some", [:], "REPORTS_DATABASE"),
            ("postgres://u@h/d?application=x", [:], "REPORTS_DATABASE"),
            ("postgres://u@h:70000/d", [:], "REPORTS_DATABASE"),
            ("postgres://u@h/d", ["REPORTS_DATABASE_MAX_CONNECTIONS": "lots"], "REPORTS_DATABASE_MAX_CONNECTIONS"),
            (
                "postgres://u@h/d", ["REPORTS_DATABASE_PASSWORD_FILE": "/nonexistent/secret-file"],
                "REPORTS_DATABASE_PASSWORD_FILE"
            ),
        ]
        for item in cases {
            let error = try #require(throws: ConfigurationError.self) {
                try PostgresSettings(url: item.url, environment: item.environment)
            }
            #expect(error.variable == item.variable, "\(item.url)")
            #expect(!error.description.contains("secret-file") && !error.description.contains("lots"))
        }
        // Empty values mean "not set", as an env file with `NAME=` says.
        let empty = try PostgresSettings(
            url: "postgres://u@h/d",
            environment: [
                "REPORTS_DATABASE_PASSWORD": "", "REPORTS_DATABASE_PASSWORD_FILE": "",
                "REPORTS_DATABASE_MAX_CONNECTIONS": "",
            ])
        #expect(empty.password == nil && empty.maxConnections == 10)
    }
}
