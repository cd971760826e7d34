import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The operators' self-test and the benchmarks' load: sleeps `sleepMs`, fails retryably on the first
/// `failTimes` attempts, and on success appends `<jobId> <attempt> <workerId>` to `recordFile`.
public struct DiagnosticJob: JobHandler {
    public static let kind = "diagnostic"

    public struct Parameters: Codable, Sendable, Equatable {
        var sleepMs: Int?
        var failTimes: Int?
        var recordFile: String?

        public init(sleepMs: Int? = nil, failTimes: Int? = nil, recordFile: String? = nil) {
            self.sleepMs = sleepMs
            self.failTimes = failTimes
            self.recordFile = recordFile
        }
    }

    public var kind: String { Self.kind }

    public init() {}

    public func handle(_ job: JobContext) async throws -> JobResult {
        let parameters: Parameters = try job.decodePayload()
        if let sleepMs = parameters.sleepMs, sleepMs > 0 {
            try await Task.sleep(for: .milliseconds(sleepMs))
        }
        if let failTimes = parameters.failTimes, job.attempt <= failTimes {
            throw JobFailure.retryable("diagnostic_failure", "diagnostic failure \(job.attempt) of \(failTimes)")
        }
        if let recordFile = parameters.recordFile {
            try Self.appendLine("\(job.id) \(job.attempt) \(job.workerId)\n", to: recordFile)
        }
        return JobResult()
    }

    /// One `write` on an `O_APPEND` descriptor: lines from concurrent processes never interleave.
    static func appendLine(_ line: String, to path: String) throws {
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw JobFailure.retryable("record_file_unavailable", "cannot open the record file (errno \(errno))")
        }
        defer { Glibc.close(descriptor) }
        let bytes = Array(line.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw JobFailure.retryable("record_file_unavailable", "cannot write the record file (errno \(errno))")
        }
    }
}
