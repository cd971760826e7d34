package import Foundation

/// A real `enqueuer` or `worker` process, built by `swift build` beside this test binary.
package final class ChildProcess: @unchecked Sendable {
    package let process = Process()
    package let outputPath: String

    /// The folder holding the built executables: the test bundle's own folder, or `REPORTS_BIN_DIR`.
    package static let binDirectory: String = {
        if let override = ProcessInfo.processInfo.environment["REPORTS_BIN_DIR"] { return override }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On some toolchains the test binary sits inside a .xctest bundle folder.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("worker").path) && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// `namespace`: run it inside that network namespace (`ip netns exec`, which execs the program, so
    /// `pid` and signals are the program's own).
    package init(
        _ executable: String, _ arguments: [String], environment: [String: String], outputPath: String,
        namespace: String? = nil
    ) throws {
        // A product of this package by name, or a system program by absolute path (python3).
        let path = executable.hasPrefix("/") ? executable : Self.binDirectory + "/" + executable
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ChildProcessError(message: "\(path) is missing: run `swift build` before `swift test`")
        }
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        self.outputPath = outputPath
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    package var pid: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }

    package func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for exit with a deadline; kills the process if it does not exit in time.
    package func waitForExit(timeout: Duration) async throws -> Int32? {
        let exited = try await waitUntil(timeout: timeout) { !process.isRunning }
        if !exited {
            signal(SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    package var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Runs a command to completion and returns its status and combined output.
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], in directory: TemporaryDirectory,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32?, output: String) {
        let child = try ChildProcess(
            executable, arguments, environment: environment, outputPath: directory.file("out-\(UUID().uuidString).log"))
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.output)
    }
}

package struct ChildProcessError: Error, CustomStringConvertible {
    package let message: String
    package var description: String { message }

    package init(message: String) { self.message = message }
}
