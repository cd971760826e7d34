import Crypto
public import Foundation
public import JobQueue
import ReportsSupport
public import Security

// What the API and the operator commands read and write, as domain operations. The
// routes know no database: `SQLiteBackend` and `PostgresBackend` implement them (bundled as
// `SQLiteServiceStores` and `PostgresServiceStores`), held to the same behaviour by the conformance suite.

/// Report definitions, scoped to their owner.
public protocol ReportDefinitions: Sendable {
    func list(_ owner: ReportOwner) async throws -> [Report]
    func get(_ owner: ReportOwner, id: String) async throws -> Report?
    /// Throws `ReportValidationError` for a definition the domain refuses (quotas included).
    func create(_ owner: ReportOwner, _ definition: ReportDefinition) async throws -> Report
    func update(_ owner: ReportOwner, id: String, _ definition: ReportDefinition) async throws -> Report?
    func delete(_ owner: ReportOwner, id: String) async throws -> Bool
    /// Throws `UserRateLimitExceeded` when `owner` has no report write left this minute, and records
    /// nothing: the API asks before work a refused write would waste (asking Jira about the query).
    /// The write itself still counts and records atomically.
    func requireWriteAllowance(_ owner: ReportOwner) async throws
}

/// Run now and the run history: creating a run and its job is one operation (`RunAdmissionStorage.admit`;
/// the scheduler uses the same one), so a run never exists without the job that carries it. Run now
/// itself (`requestRun`) is `RunAdmission`'s rule, written once below.
public protocol RunRequests: RunAdmissionStorage {
    /// Run nows one user may make per minute.
    var runNowPerMinute: Int { get }
    /// Seals the forwarded user token to its run.
    var vault: TokenVault { get }
    /// The store's clock.
    var now: @Sendable () -> Date { get }
    /// Nil when the report is not the owner's.
    func runs(_ owner: ReportOwner, reportId: String, limit: Int) async throws -> [ReportRun]?
    func run(_ owner: ReportOwner, id: String) async throws -> ReportRun?
}

extension RunRequests {
    /// "Run now" for `owner`: `RunAdmission`'s rule over this store's `admit`.
    public func requestRun(_ owner: ReportOwner, reportId: String, userToken: Secret?) async throws
        -> RunRequestResult
    {
        try await RunAdmission.requestRun(
            owner, reportId: reportId, userToken: userToken, storage: self, vault: vault,
            limit: UserRateLimit(.runNow, perMinute: runNowPerMinute), now: now())
    }
}

/// The owners' Microsoft connections, as the API sees them.
public protocol MicrosoftConnections: Sendable {
    func connection(_ owner: ReportOwner) async throws -> MicrosoftConnection?
    func delete(_ owner: ReportOwner) async throws -> Bool
    func markReconnectRequired(_ owner: ReportOwner, lease: JobLease?) async throws
}

/// Connections waiting for the user's confirmation.
public protocol PendingConnections: Sendable {
    /// Parks a connection for `browser` and returns the one-time confirmation token.
    func park(_ pending: PendingConnection, refreshToken: Secret, browser: String) async throws -> Secret
    /// Takes the parked connection back: stored as the owner's connection when `confirm`, else dropped.
    func take(token: String, browser: String, confirm: Bool) async throws -> PendingConnectionOutcome
    /// Keeps the names the confirmation page shows for `owner`'s flow for `ConnectNames.lifetime` (the
    /// latest flow's win).
    func keepNames(_ names: ConnectNames, for owner: ReportOwner) async throws
    /// The names kept for `owner`'s flow, unless they expired.
    func names(for owner: ReportOwner) async throws -> ConnectNames?
}

/// The Jira sites seen in verified Forge calls.
public protocol InstallationRecords: Sendable {
    /// Records a verified caller's installation and, from Forge's own calls, its system token.
    func record(_ identity: FITIdentity, systemToken: Secret?) async throws
    func installation(_ id: String) async throws -> Installation?
}

/// Single use of OAuth states and start tokens.
public protocol OAuthNonces: Sendable {
    /// Verifies `state` with `verifier` and consumes its nonce; a second use throws.
    func consume(_ state: String, verifier: OAuthState) async throws -> OAuthState.Fields
}

/// What health checks and metrics read from the storage.
public protocol StorageReadings: Sendable {
    /// Whether the storage answers a read now.
    func isReadable() async -> Bool
    func scheduleLateness() async throws -> ScheduleLateness
    /// A short reason ("disk_full", "locked", …) when `error` means the storage cannot be used now
    /// and will recover (answered 503 `storage_unavailable`); nil for anything else.
    func unavailableReason(_ error: any Error) -> String?
}

public struct MicrosoftConnection: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case active
        case reconnectRequired = "reconnect_required"
    }

    public let microsoftUserId: String
    public let displayName: String
    public let status: Status
    public let connectedAt: Date

    public init(microsoftUserId: String, displayName: String, status: Status, connectedAt: Date) {
        self.microsoftUserId = microsoftUserId
        self.displayName = displayName
        self.status = status
        self.connectedAt = connectedAt
    }
}

public struct PendingConnection: Sendable, Equatable {
    public let owner: ReportOwner
    public let microsoftUserId: String
    public let displayName: String
    /// The account's sign-in name (user principal name), shown on the confirmation page.
    public let microsoftAccount: String

    public init(owner: ReportOwner, microsoftUserId: String, displayName: String, microsoftAccount: String) {
        self.owner = owner
        self.microsoftUserId = microsoftUserId
        self.displayName = displayName
        self.microsoftAccount = microsoftAccount
    }
}

public enum PendingConnectionOutcome: Sendable, Equatable {
    case taken(PendingConnection)
    /// No such token, another browser's, or already used.
    case unknown
    case expired
}

public enum RunRequestResult: Sendable, Equatable {
    /// A new run was queued; nothing of the report was waiting or running.
    case queued(ReportRun)
    /// A new run was queued behind the report's running run (which may have read Jira already),
    /// so the user's latest change is in the next page; it starts when that run ends.
    case followUp(ReportRun, running: ReportRun)
    /// A run of the report was already waiting (not started): it will show the latest data, so the
    /// request joined it.
    case joined(ReportRun)
    case reportNotFound
    /// The user made `runNowPerMinute` Run nows that queued a run in the last minute; the next may
    /// come after `retryAfter`.
    case rateLimited(retryAfter: Duration)

    /// How the request was admitted, for the enqueue's span: a fixed word, no id.
    var admission: String {
        switch self {
        case .queued: "queued"
        case .followUp: "follow_up"
        case .joined: "joined"
        case .reportNotFound: "report_not_found"
        case .rateLimited: "rate_limited"
        }
    }

    package var run: ReportRun? {
        switch self {
        case .queued(let run), .followUp(let run, _), .joined(let run): run
        case .reportNotFound, .rateLimited: nil
        }
    }
}

/// How late scheduled runs are: from the schedule slot to the run's job being enqueued,
/// and to its first start, over the scheduled runs queued in a recent window.
public struct ScheduleLateness: Sendable, Codable, Equatable {
    public struct Stage: Sendable, Codable, Equatable {
        public var runs = 0
        public var p95Seconds = 0.0
        public var maxSeconds = 0.0

        public init(runs: Int = 0, p95Seconds: Double = 0, maxSeconds: Double = 0) {
            self.runs = runs
            self.p95Seconds = p95Seconds
            self.maxSeconds = maxSeconds
        }
    }

    var windowSeconds: Double
    public var enqueued = Stage()
    public var started = Stage()

    public init(windowSeconds: Double, enqueued: Stage = Stage(), started: Stage = Stage()) {
        self.windowSeconds = windowSeconds
        self.enqueued = enqueued
        self.started = started
    }

    /// The lateness of the runs in `window`, from each one's delays in milliseconds (slot → enqueued,
    /// slot → started; a run not started yet has no second delay).
    public init(window: Duration, enqueuedDelays: [Int64], startedDelays: [Int64]) {
        self.init(
            windowSeconds: Double(window.wholeMilliseconds) / 1000, enqueued: Self.stage(enqueuedDelays),
            started: Self.stage(startedDelays))
    }

    private static func stage(_ milliseconds: [Int64]) -> Stage {
        guard !milliseconds.isEmpty else { return Stage() }
        let sorted = milliseconds.map { Double(max($0, 0)) / 1000 }.sorted()
        let index = min(Int((Double(sorted.count) * 0.95).rounded(.up)) - 1, sorted.count - 1)
        return Stage(runs: sorted.count, p95Seconds: sorted[max(index, 0)], maxSeconds: sorted[sorted.count - 1])
    }
}

/// Every store the API uses, as protocols: what `enqueuer serve` is wired with (`SQLiteServiceStores`
/// builds the SQLite ones).
public struct ServiceStores: Sendable {
    public var installations: any InstallationRecords
    public var reports: any ReportDefinitions
    public var runs: any RunRequests
    public var connections: any MicrosoftConnections
    public var pending: any PendingConnections
    public var nonces: any OAuthNonces
    public var storage: any StorageReadings
    /// The queue, for its statistics on /metrics.
    public var queue: any JobQueue
    /// What the admin page reads of a site, and its schedule switch.
    public var administration: any SiteAdministrationStorage

    public init(
        installations: any InstallationRecords, reports: any ReportDefinitions, runs: any RunRequests,
        connections: any MicrosoftConnections, pending: any PendingConnections, nonces: any OAuthNonces,
        storage: any StorageReadings, queue: any JobQueue, administration: any SiteAdministrationStorage
    ) {
        self.installations = installations
        self.reports = reports
        self.runs = runs
        self.connections = connections
        self.pending = pending
        self.nonces = nonces
        self.storage = storage
        self.queue = queue
        self.administration = administration
    }
}

/// `enqueuer cron`'s one operation: enqueue every report whose schedule is due, through the same
/// "create a run and its job" the API's Run now uses (`ReportScheduler` over SQLite,
/// `PostgresReportScheduler` over PostgreSQL). A backend implements one batch; the pass is shared.
public protocol DueReportScheduling: Sendable {
    /// One batch, its own bounded transaction: enqueues up to `batch` of the reports due now, and says
    /// how many were due.
    func batch(_ batch: Int) async throws -> (tick: SchedulerTick, due: Int)
}

extension DueReportScheduling {
    /// A whole pass: batches of `batch` due reports until nothing is due, so a burst at the
    /// top of the hour is enqueued in one pass, not one batch per interval. At most `maxBatches`
    /// batches (a guard, never reached by a sane schedule).
    public func pass(batch: Int = 500, maxBatches: Int = 10_000) async throws -> SchedulerTick {
        var total = SchedulerTick()
        for _ in 0..<maxBatches {
            let (tick, due) = try await self.batch(batch)
            total.enqueued += tick.enqueued
            total.joined += tick.joined
            total.invalid += tick.invalid
            if due < batch { break }
        }
        return total
    }

    /// One batch: enqueues up to `batch` of the reports due now.
    func tick(batch: Int = 500) async throws -> SchedulerTick {
        try await self.batch(batch).tick
    }
}

/// What a scheduler pass did.
public struct SchedulerTick: Sendable, Equatable {
    public var enqueued = 0
    /// Due reports whose previous run was still waiting: the slot joined that run.
    public var joined = 0
    /// Due reports whose schedule no longer parses; they are disabled from scheduling (next_run_at NULL).
    public var invalid = 0

    public init(enqueued: Int = 0, joined: Int = 0, invalid: Int = 0) {
        self.enqueued = enqueued
        self.joined = joined
        self.invalid = invalid
    }
}

extension PendingConnection {
    /// How long a parked connection waits for the user's confirmation.
    public static let lifetime: Duration = .seconds(600)

    /// What a store keeps of a confirmation token: its SHA-256, never the token.
    public static func tokenHash(_ token: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(token.utf8))))
    }
}
