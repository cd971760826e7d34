/// One row of the `jobs` table, as operators see it. The payload is left out on purpose: later job
/// kinds carry encrypted material that has no place on a terminal.
public struct JobRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var kind: String
    public var priority: Int
    public var state: JobState
    public var runAt: Int64
    public var attempt: Int
    public var maxAttempts: Int
    var leaseToken: Int64
    var leaseUntil: Int64?
    public var workerId: String?
    public var uniqueKey: String?
    public var lastError: String?
    public var createdAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?
    public var fairnessKey: String
    public var waitReason: String?

    public enum CodingKeys: String, CodingKey {
        case id, kind, priority, state
        case runAt = "run_at"
        case attempt
        case maxAttempts = "max_attempts"
        case leaseToken = "lease_token"
        case leaseUntil = "lease_until"
        case workerId = "worker_id"
        case uniqueKey = "unique_key"
        case lastError = "last_error"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case fairnessKey = "fairness_key"
        case waitReason = "wait_reason"
    }

    public init(
        id: Int64, kind: String, priority: Int, state: JobState, runAt: Int64, attempt: Int, maxAttempts: Int,
        leaseToken: Int64, leaseUntil: Int64?, workerId: String?, uniqueKey: String?, lastError: String?,
        createdAt: Int64, startedAt: Int64?, finishedAt: Int64?, fairnessKey: String, waitReason: String?
    ) {
        self.id = id
        self.kind = kind
        self.priority = priority
        self.state = state
        self.runAt = runAt
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.leaseToken = leaseToken
        self.leaseUntil = leaseUntil
        self.workerId = workerId
        self.uniqueKey = uniqueKey
        self.lastError = lastError
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.fairnessKey = fairnessKey
        self.waitReason = waitReason
    }

    public var lease: JobLease? {
        state == .running ? JobLease(jobId: id, token: leaseToken, attempt: attempt, maxAttempts: maxAttempts) : nil
    }
}
