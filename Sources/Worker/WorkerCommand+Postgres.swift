import Foundation
import JobQueue
import JobQueuePostgres
import Logging
import PostgresStorage
import Reports
import ReportsSupport
import ServiceLifecycle
import ServiceSetup
import UnixSignals

extension Run {
    /// `REPORTS_DATABASE=postgres://…` (docs/postgresql.md): the queue and the stores on
    /// PostgreSQL, so workers on several hosts share them. The same jobs as on SQLite: diagnostics, and
    /// `run-report` when the report variables are set.
    func runOnPostgres(url: String, settings: ReportsConfiguration, logger: Logger) async throws {
        let environment = ProcessInfo.processInfo.environment
        let postgres: PostgresSettings
        do {
            postgres = try PostgresSettings(url: url, environment: environment)
        } catch {
            ProcessSupport.fail(program: "worker", "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
        do {
            try await PostgresReportsDatabase.withTemporaryClient(settings: postgres, logger: logger) { database in
                try await database.requireCurrentSchema()
            }
        } catch let error as StoreError {
            ProcessSupport.fail(program: "worker", error.message)
        }
        let database = try PostgresReportsDatabase(settings: postgres, logger: logger)
        let metrics = WorkerMetrics()
        var registry = JobRegistry([DiagnosticJob()])
        let reports = Self.reportHandler(
            database: .postgres(database), settings: settings, metrics: metrics, workerId: workerId, logger: logger)
        if let reports { registry.register(reports.handler) }
        let runtime = WorkerRuntime(
            queue: PostgresJobQueue(database: database, fairness: settings.limits.fairness),
            registry: registry,
            configuration: runtimeConfiguration,
            logger: logger,
            observer: metrics)
        // Stopped in reverse order: metrics, the runtime (grace period), the budget keeper, and the pool
        // last, so the runtime can still settle its jobs while it stops.
        var services: [any Service] = [database]
        if let limiter = reports?.budget {
            services.append(OneNoteBudgetKeeper(limiter: limiter, workerId: workerId, logger: logger))
        }
        services.append(
            DataRetentionService(
                store: WorkerDatabase.postgres(database).dataLifecycle, rules: settings.retention,
                interval: settings.retention.interval, logger: logger))
        if let accounts = reports?.accounts { services.append(accounts) }
        services.append(runtime)
        if let metricsPort { services.append(metrics.server(port: metricsPort, limits: settings.http, logger: logger)) }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
