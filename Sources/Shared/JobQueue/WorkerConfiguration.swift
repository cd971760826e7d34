/// How a worker process leases and runs jobs.
public struct WorkerConfiguration: Sendable {
    /// Recorded on every job it leases; must be unique among running workers.
    public var workerId: String
    /// Handlers running at once.
    var concurrency: Int
    /// How long a lease lasts without a heartbeat. A worker that dies loses its jobs to others after this.
    public var leaseDuration: Duration
    /// Heartbeats extend every held lease this often (a third of the lease by default).
    var heartbeatInterval: Duration
    /// On SIGTERM, how long running handlers may take to finish before they are cancelled and released.
    var gracePeriod: Duration
    /// How often an idle worker checks whether another process committed work, as a fallback: where
    /// the file system reports writes to the database (inotify), the worker checks at each one.
    var pollInterval: Duration
    /// How often jobs waiting past the fairness policy's aging time are promoted.
    var agingInterval: Duration
    /// How often expired leases of dead workers are returned to the queue.
    var reclaimInterval: Duration
    /// How often finished jobs past retention are deleted.
    var pruneInterval: Duration
    public var retention: RetentionPolicy
    /// Most jobs taken in one lease statement.
    var maxLeaseBatch: Int

    public init(
        workerId: String,
        concurrency: Int = 8,
        leaseDuration: Duration = .seconds(30),
        heartbeatInterval: Duration? = nil,
        gracePeriod: Duration = .seconds(10),
        pollInterval: Duration = .milliseconds(100),
        agingInterval: Duration = .seconds(5),
        reclaimInterval: Duration = .seconds(1),
        pruneInterval: Duration = .seconds(300),
        retention: RetentionPolicy = .standard,
        maxLeaseBatch: Int = 64
    ) {
        self.workerId = workerId
        self.concurrency = max(concurrency, 1)
        self.leaseDuration = leaseDuration
        self.heartbeatInterval = heartbeatInterval ?? leaseDuration / 3
        self.gracePeriod = gracePeriod
        self.pollInterval = pollInterval
        self.agingInterval = agingInterval
        self.reclaimInterval = reclaimInterval
        self.pruneInterval = pruneInterval
        self.retention = retention
        self.maxLeaseBatch = max(maxLeaseBatch, 1)
    }
}
