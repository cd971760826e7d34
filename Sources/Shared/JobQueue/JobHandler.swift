package import Foundation
public import Logging

/// What a handler gets to work with for one attempt.
public struct JobContext: Sendable {
    public let id: Int64
    public let kind: String
    let payload: Data
    /// 1 on the first attempt.
    public let attempt: Int
    public let maxAttempts: Int
    public let workerId: String
    public let logger: Logger
    /// The lease this attempt runs under: every database write of the handler is conditioned on it.
    public let lease: JobLease
    /// What the backend read for the job with its lease (`LeasedJob.claim`); nil when it read nothing.
    public let claim: (any Sendable)?
    private let leaseCheck: @Sendable () async throws -> Bool

    /// Made by the runtime for each attempt (and by tests of a handler).
    package init(
        id: Int64, kind: String, payload: Data, attempt: Int, maxAttempts: Int, workerId: String, logger: Logger,
        lease: JobLease? = nil, claim: (any Sendable)? = nil,
        leaseCheck: @escaping @Sendable () async throws -> Bool = { true }
    ) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.workerId = workerId
        self.logger = logger
        self.lease = lease ?? JobLease(jobId: id, token: 0, attempt: attempt, maxAttempts: maxAttempts)
        self.claim = claim
        self.leaseCheck = leaseCheck
    }

    /// Throws unless this attempt still holds its lease: called before every upstream write, so the
    /// window in which a worker that lost its lease can still write is one request.
    public func checkLease() async throws {
        try Task.checkCancellation()
        guard try await leaseCheck() else { throw LeaseLostError() }
    }

    /// Decodes the payload; a payload that does not fit is a permanent failure (retrying cannot fix it).
    public func decodePayload<Parameters: Decodable>(as type: Parameters.Type = Parameters.self) throws -> Parameters {
        do {
            return try JSONDecoder().decode(Parameters.self, from: payload)
        } catch {
            throw JobFailure.permanent(
                "invalid_payload", "the payload does not match the parameters of job kind '\(kind)'")
        }
    }
}

/// Runs one kind of job. Throw `JobFailure` to say whether a failure is worth retrying; any other error
/// counts as retryable and is recorded by its type name only (its text might hold something secret).
/// Return what the success produced (`JobResult()` when nothing follows the job): the queue records
/// it in the transaction that marks the job succeeded, so whatever follows the job (a report's run)
/// and the job itself never disagree. A handler should return promptly when its task is cancelled:
/// that is how shutdown takes it back.
public protocol JobHandler: Sendable {
    var kind: String { get }
    func handle(_ job: JobContext) async throws -> JobResult
}

/// The handlers a worker runs, by kind.
public struct JobRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    public init(_ handlers: [any JobHandler] = []) {
        for handler in handlers { register(handler) }
    }

    public mutating func register(_ handler: any JobHandler) {
        handlers[handler.kind] = handler
    }

    func handler(for kind: String) -> (any JobHandler)? { handlers[kind] }

    var kinds: [String] { handlers.keys.sorted() }
}
