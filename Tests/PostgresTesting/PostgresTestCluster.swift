import Foundation
import Logging
package import PostgresBackend
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster of the tests' own: `initdb` into a temporary folder, the
/// server on a Unix socket there and on a free loopback port, stopped and removed when the test process
/// exits. PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
/// (Debian's package creates it) or `nobody`. Each test gets a database of its own, copied from a
/// migrated template (a copy takes milliseconds; migrating each would not).
///
/// The server's binaries: `REPORTS_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin` (where
/// Debian puts them), else `PATH`. Missing binaries fail the test with what to install: nothing is
/// skipped.
package final class PostgresTestCluster: Sendable {
    package let directory: String
    package let port: Int
    let binDirectory: String
    let runAs: String?
    private let counter = Atomic<Int>(0)

    /// The one cluster of this test process, started on first use.
    package static func shared() async throws -> PostgresTestCluster {
        try await Bootstrap.shared.cluster()
    }

    /// Starts the cluster once; callers arriving meanwhile wait for that start, not a second one.
    private actor Bootstrap {
        static let shared = Bootstrap()
        private var cluster: PostgresTestCluster?
        private var failure: (any Error)?
        private var starting = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func cluster() async throws -> PostgresTestCluster {
            while starting { await withCheckedContinuation { waiting.append($0) } }
            if let cluster { return cluster }
            if let failure { throw failure }
            starting = true
            defer {
                starting = false
                for waiter in waiting { waiter.resume() }
                waiting = []
            }
            do {
                let started = try PostgresTestCluster()
                try await started.prepareTemplate()
                cluster = started
                return started
            } catch {
                failure = error
                throw error
            }
        }
    }

    /// The options the server starts with (kept for `restart`).
    private let serverOptions: String
    /// The network namespace the server runs in (`TestNetwork`), if any.
    package let namespace: String?

    /// A cluster of its own for a test that needs one (another network, a restart), in addition to the
    /// shared one. `listen`: the addresses to listen on; `trust`: a network whose clients may connect
    /// without a password (the test hosts). Stop it with `stop()`; the process's exit stops it too.
    package static func start(namespace: String? = nil, listen: String = "127.0.0.1", trust: String? = nil) throws
        -> PostgresTestCluster
    {
        try PostgresTestCluster(namespace: namespace, listen: listen, trust: trust)
    }

    private init(namespace: String? = nil, listen: String = "127.0.0.1", trust: String? = nil) throws {
        let binDirectory = try Self.findBinaries()
        let runAs = getuid() == 0 ? (getpwnam("postgres") != nil ? "postgres" : "nobody") : nil
        var template = Array("/tmp/reports-pg-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw PostgresTestClusterError("cannot make a temporary folder") }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        clustersToStopAtExit.withLock { $0.append((directory, binDirectory, runAs)) }
        if registeredExitHook.exchange(true, ordering: .relaxed) == false { atexit { stopClustersAtExit() } }
        if let runAs { try Self.run("/bin/chown", ["-R", runAs, directory]) }
        let port = try Self.freePort()
        // Durability settings off: a test cluster is thrown away, and fsync on every commit would
        // measure the disk, not the code. The restart test stops the server cleanly, which writes all.
        serverOptions = [
            "-p \(port)", "-k \(directory)", "-c listen_addresses=\(listen)", "-c fsync=off",
            "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=300",
        ].joined(separator: " ")
        (self.binDirectory, self.runAs, self.directory, self.port) = (binDirectory, runAs, directory, port)
        self.namespace = namespace
        try run("initdb", ["-D", "\(directory)/data", "-U", "reports", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if let trust {
            let rules = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/data/pg_hba.conf"))
            try rules.seekToEnd()
            try rules.write(contentsOf: Data("host all all \(trust) trust\n".utf8))
            try rules.close()
        }
        try run(
            "pg_ctl", ["start", "-w", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o", serverOptions])
    }

    /// Restarts the server the way an operator's `pg_ctl restart -m fast` does: every connection is
    /// cut, then the server comes back on the same port.
    package func restart() throws {
        try run(
            "pg_ctl",
            [
                "restart", "-w", "-m", "fast", "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-o",
                serverOptions,
            ])
    }

    package func stop() {
        try? run("pg_ctl", ["stop", "-w", "-m", "immediate", "-D", "\(directory)/data"])
        try? FileManager.default.removeItem(atPath: directory)
        clustersToStopAtExit.withLock { $0.removeAll { $0.directory == directory } }
    }

    /// A `REPORTS_DATABASE` URL for `database` over the Unix socket.
    package func url(database: String) -> String {
        "postgres://reports@localhost:\(port)/\(database)?host=\(directory)"
    }

    /// A `REPORTS_DATABASE` URL for `database` over loopback TCP (no TLS: a test cluster has no certificate).
    package func tcpURL(database: String) -> String {
        "postgres://reports@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs `body` with a fresh migrated database of its own, dropped afterwards.
    package func withDatabase<Result: Sendable>(
        _ body: (PostgresReportsDatabase, String) async throws -> Result
    ) async throws -> Result {
        let name = "t\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        try psql("CREATE DATABASE \(name) TEMPLATE reports_template")
        defer { try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return try await Self.withRunning(url: url(database: name)) { database in try await body(database, name) }
    }

    /// Runs `body` with the URL of a fresh database with no schema at all, dropped afterwards.
    package func withEmptyDatabase<Result: Sendable>(_ body: (String) async throws -> Result) async throws -> Result {
        let name = "e\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        try psql("CREATE DATABASE \(name)")
        defer { try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return try await body(url(database: name))
    }

    /// Runs `body` with a database client whose pool runs for the body's duration.
    package static func withRunning<Result: Sendable>(
        url: String, environment: [String: String] = [:],
        _ body: (PostgresReportsDatabase) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .critical
        return try await PostgresReportsDatabase.withTemporaryClient(
            settings: PostgresSettings(url: url, environment: environment), logger: logger,
            connectWithin: .seconds(30), body)
    }

    private func prepareTemplate() async throws {
        try psql("CREATE DATABASE reports_template")
        try await Self.withRunning(url: url(database: "reports_template")) { database in
            _ = try await database.migrate()
        }
        // A database is copied only while no one is connected to it: the migrator's connections may
        // still be closing, so shut the door and wait (up to 5 s) until they are gone.
        try psql("ALTER DATABASE reports_template WITH ALLOW_CONNECTIONS false")
        try psql(
            """
            DO $$ BEGIN
                FOR attempt IN 1..100 LOOP
                    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = 'reports_template');
                    PERFORM pg_sleep(0.05);
                END LOOP;
            END $$
            """)
    }

    /// Runs one SQL command through `psql` on the maintenance database.
    package func psql(_ sql: String, database: String = "postgres") throws {
        try run(
            "psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory, "-p", "\(port)", "-U", "reports",
                "-d", database, "-c", sql,
            ])
    }

    func run(_ tool: String, _ arguments: [String]) throws {
        let path = "\(binDirectory)/\(tool)"
        var command = [FileManager.default.isExecutableFile(atPath: path) ? path : "/usr/bin/\(tool)"] + arguments
        if let runAs { command = ["/sbin/runuser", "-u", runAs, "--"] + command }
        if let namespace { command = ["/usr/sbin/ip", "netns", "exec", namespace] + command }
        try Self.run(command[0], Array(command.dropFirst()))
    }

    /// Runs a tool to its end. `posix_spawn` and `waitpid` rather than Foundation's `Process`, whose
    /// wait does not return while a process the tool started (`pg_ctl start` leaves the server running)
    /// still holds what it inherited.
    static func run(_ executable: String, _ arguments: [String]) throws {
        let outputPath = NSTemporaryDirectory() + "reports-pg-tool-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw PostgresTestClusterError("cannot start \(executable): error \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresTestClusterError(
                "\(URL(fileURLWithPath: executable).lastPathComponent) failed (status \(status)): \(text)")
        }
    }

    private static func findBinaries() throws -> String {
        if let path = ProcessInfo.processInfo.environment["REPORTS_TEST_PG_BIN"] { return path }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        for folder in ["/usr/local/bin", "/usr/bin"]
        where FileManager.default.isExecutableFile(atPath: "\(folder)/initdb") {
            return folder
        }
        throw PostgresTestClusterError(
            "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's `postgresql` package or set REPORTS_TEST_PG_BIN"
        )
    }

    /// A loopback port nothing listens on right now (the kernel's pick).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw PostgresTestClusterError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

package struct PostgresTestClusterError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// What the exit hook needs to stop the clusters still running (an `atexit` function cannot capture).
private let clustersToStopAtExit = Mutex<[(directory: String, bin: String, runAs: String?)]>([])
private let registeredExitHook = Atomic<Bool>(false)

private func stopClustersAtExit() {
    for (directory, bin, runAs) in clustersToStopAtExit.withLock({ $0 }) {
        let stop = ["\(bin)/pg_ctl", "stop", "-D", "\(directory)/data", "-m", "immediate", "-w"]
        try? PostgresTestCluster.run(
            runAs == nil ? stop[0] : "/sbin/runuser", runAs.map { ["-u", $0, "--"] + stop } ?? Array(stop.dropFirst()))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
