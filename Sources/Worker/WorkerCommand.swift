import ArgumentParser
import Atlassian
import Foundation
import JobQueue
import Logging
import Microsoft
import Reports
import ReportsSupport
import Security
import ServiceLifecycle
import ServiceSetup
import StorageBackends
import Transport
import UnixSignals
import Upstream

@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Runs report jobs from the queue. Start as many processes as you like.",
        subcommands: [Run.self]
    )

    static func main() async {
        ProcessSupport.restrictFileModes()
        ProcessSupport.keepFreedMemory()
        guard OutboundTLSFloor.install() else {
            ProcessSupport.fail(
                program: "worker", "cannot set the outbound TLS 1.2 floor: no writable temporary directory (TMPDIR)")
        }
        await main(nil)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lease and run jobs until SIGTERM; then finish or release running jobs and exit 0.")

    @Option(help: "Jobs run at once by this process.") var concurrency = 8
    @Option(
        help:
            "This worker's name, recorded on the jobs it leases (default: host-pid). Must be unique among running workers."
    )
    var id: String?
    @Option(name: .customLong("lease-seconds"), help: "Lease length; a dead worker's jobs go to others after this.")
    var leaseSeconds: Double = 30
    @Option(
        name: .customLong("grace-seconds"),
        help: "On SIGTERM, how long running jobs may take to finish before they are released.")
    var graceSeconds: Double = 10
    @Option(
        name: .customLong("poll-ms"),
        help:
            "Fallback: how often an idle worker checks for jobs committed by other processes (it also checks at every write the file system reports)."
    )
    var pollMs: Int = 100
    @Option(name: .customLong("lease-batch"), help: "Most jobs leased in one statement.")
    var leaseBatch: Int = 64
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus /metrics on 127.0.0.1 at this port.")
    var metricsPort: Int?

    func validate() throws {
        guard (1...1024).contains(concurrency) else {
            throw ValidationError("--concurrency must be between 1 and 1024")
        }
        guard leaseSeconds >= 0.3 && leaseSeconds <= 86_400 else {
            throw ValidationError("--lease-seconds must be between 0.3 and 86400")
        }
        guard graceSeconds >= 0 && graceSeconds <= 3_600 else {
            throw ValidationError("--grace-seconds must be between 0 and 3600")
        }
        guard (1...1000).contains(pollMs) else { throw ValidationError("--poll-ms must be between 1 and 1000") }
        guard (1...1000).contains(leaseBatch) else { throw ValidationError("--lease-batch must be between 1 and 1000") }
        if let metricsPort, !(1...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be between 1 and 65535")
        }
        if let id, id.isEmpty || id.count > 100 { throw ValidationError("--id must be 1 to 100 characters") }
    }

    func run() async throws {
        let settings = ProcessSupport.loadConfiguration(program: "worker")
        ProcessSupport.bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "reports.worker")
        let storage = await ReportsStorage.open(settings, program: "worker", logger: logger)
        let metrics = WorkerMetrics()
        var registry = JobRegistry([DiagnosticJob()])
        let reports = Self.reportHandler(
            storage: storage, settings: settings, metrics: metrics, workerId: workerId, logger: logger)
        if let reports { registry.register(reports.handler) }
        let runtime = WorkerRuntime(
            queue: storage.queue, registry: registry, configuration: runtimeConfiguration, logger: logger,
            observer: metrics)
        // Stopped in reverse order: metrics, the runtime (grace period), the budget keeper, and the
        // storage's own services last (a connection pool), so the runtime can still settle its jobs.
        // The span exporter first: services stop in reverse order, so it sends the last spans.
        var services = ProcessSupport.startTracing(program: "worker").map { [$0] } ?? []
        services += storage.services
        if let limiter = reports?.budget {
            services.append(OneNoteRateLimiter.Keeper(limiter: limiter, workerId: workerId, logger: logger))
        }
        services.append(
            DataRetentionService(
                store: storage.dataLifecycle, rules: settings.retention,
                interval: settings.retention.interval, logger: logger))
        if let accounts = reports?.accounts { services.append(accounts) }
        services.append(runtime)
        if let metricsPort { services.append(metrics.server(port: metricsPort, limits: settings.http, logger: logger)) }
        try await ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }

    var workerId: String { id ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)" }

    var runtimeConfiguration: WorkerConfiguration {
        WorkerConfiguration(
            workerId: workerId,
            concurrency: concurrency,
            leaseDuration: .milliseconds(Int64(leaseSeconds * 1000)),
            gracePeriod: .milliseconds(Int64(graceSeconds * 1000)),
            pollInterval: .milliseconds(pollMs),
            maxLeaseBatch: leaseBatch)
    }

    /// The `run-report` handler, when the worker is configured for it. With none of its variables set
    /// the worker runs diagnostic jobs only (the self-test); with some set, a missing one is an error.
    static func reportHandler(
        storage: ReportsStorage, settings: ReportsConfiguration, metrics: WorkerMetrics, workerId: String,
        logger: Logger
    ) -> (handler: RunReportHandler, budget: OneNoteRateLimiter, accounts: AccountReportingService)? {
        let environment = ProcessInfo.processInfo.environment
        let names = ["REPORTS_TOKEN_KEYS", "MS_CLIENT_ID", "MS_CLIENT_SECRET"]
        guard names.contains(where: { !(environment[$0] ?? "").isEmpty }) else {
            logger.notice(
                "report jobs disabled: REPORTS_TOKEN_KEYS, MS_CLIENT_ID and MS_CLIENT_SECRET are not set; running diagnostic jobs only"
            )
            return nil
        }
        do {
            let keys = try TokenKeyRing(environment: environment)
            let upstream = try UpstreamConfiguration(
                environment: environment, policy: settings.outboundPolicy, requireRedirectURI: false)
            var cap = 5000
            if let text = environment["REPORTS_ISSUE_CAP"], !text.isEmpty {
                guard let value = Int(text), (1...50_000).contains(value) else {
                    throw ConfigurationError(variable: "REPORTS_ISSUE_CAP", problem: "must be a number from 1 to 50000")
                }
                cap = value
            }
            let transport = MeteredTransport(
                inner: CurlTransport(policy: settings.outboundPolicy), metrics: metrics)
            let onenote = try OneNoteLimits(environment: environment)
            let budget = OneNoteRateLimiter(
                storage: storage.budgetStorage, perMinute: onenote.perMinute, perHour: onenote.perHour,
                holder: "\(workerId):\(UUID().uuidString.lowercased())",
                sleep: metrics.sleeper(service: "onenote_budget"))
            let vault = TokenVault(keys: keys)
            let microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
            let stores = storage.runReportStores(vault: vault)
            let atlassian = AtlassianClient(
                graphQLURL: upstream.atlassianGraphQLURL, transport: transport,
                sleep: metrics.sleeper(service: "atlassian"))
            let handler = RunReportHandler(
                stores: stores, vault: vault, atlassian: atlassian,
                destination: OneNoteDestination(
                    connections: storage.microsoftConnections(vault: vault),
                    tokens: MicrosoftTokenBroker(storage: storage.tokenStorage, vault: vault, microsoft: microsoft),
                    writer: OneNoteWriter(
                        graphBaseURL: upstream.microsoftGraphBaseURL, transport: transport,
                        sleep: metrics.sleeper(service: "onenote")),
                    limiter: budget),
                issueCap: cap)
            // The sites' stored account ids go to Atlassian's personal data reporting API.
            let accounts = AccountReportingService(
                store: storage.personalData, tokens: stores,
                reporter: AtlassianAccountReporter(client: atlassian, url: upstream.atlassianPersonalDataURL),
                interval: settings.retention.interval, logger: logger)
            return (handler, budget, accounts)
        } catch {
            ProcessSupport.fail(program: "worker", "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
    }
}
