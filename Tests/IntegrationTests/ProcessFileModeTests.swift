import Foundation
import TestSupport
import Testing

/// Every process makes its files private whatever umask it was started with:
/// real `enqueuer` and `worker` processes started from a shell with umask 022, as a cron job or an
/// operator's shell would.
@Suite("File modes outside systemd (real processes)")
struct ProcessFileModeTests {
    private static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// `/bin/sh -c 'umask 022; exec <bin> <arguments>'`, so the process starts with a permissive umask.
    private static func start(_ executable: String, _ arguments: [String], environment: [String: String], log: String)
        throws -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let command = ([ChildProcess.binDirectory + "/" + executable] + arguments).map { "'\($0)'" }.joined(
            separator: " ")
        process.arguments = ["-c", "umask 022; exec \(command)"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    @Test func theDatabaseItsWALAndSHMBackupsAndTheDataFolderArePrivate() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.file("data")  // does not exist yet: the process creates it
        let database = data + "/reports.sqlite"
        let environment = ["REPORTS_DATABASE": database, "REPORTS_LOG_LEVEL": "error"]

        let migrate = try Self.start(
            "enqueuer", ["migrate"], environment: environment, log: directory.file("migrate.log"))
        migrate.waitUntilExit()
        #expect(
            migrate.terminationStatus == 0,
            "\((try? String(contentsOfFile: directory.file("migrate.log"), encoding: .utf8)) ?? "")")
        #expect(try Self.mode(data) == 0o700, "data folder")
        #expect(try Self.mode(database) == 0o600, "database")

        // A running worker holds the WAL and SHM open.
        let worker = try Self.start(
            "worker", ["run", "--id", "modes"], environment: environment, log: directory.file("worker.log"))
        defer {
            if worker.isRunning {
                worker.terminate()
                worker.waitUntilExit()
            }
        }
        #expect(
            try await waitUntil(timeout: .seconds(30)) {
                FileManager.default.fileExists(atPath: database + "-wal")
                    && FileManager.default.fileExists(atPath: database + "-shm")
            }, "the worker opened the database in WAL mode")
        #expect(try Self.mode(database + "-wal") == 0o600, "WAL")
        #expect(try Self.mode(database + "-shm") == 0o600, "SHM")

        let backupPath = directory.file("backup.sqlite")
        let backup = try Self.start(
            "enqueuer", ["backup", "--to", backupPath], environment: environment, log: directory.file("backup.log"))
        backup.waitUntilExit()
        #expect(
            backup.terminationStatus == 0,
            "\((try? String(contentsOfFile: directory.file("backup.log"), encoding: .utf8)) ?? "")")
        #expect(try Self.mode(backupPath) == 0o600, "backup")
    }
}
