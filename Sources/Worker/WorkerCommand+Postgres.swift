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
    /// `REPORTS_DATABASE=postgres://…` (issue #16, docs/postgresql.md): the queue on PostgreSQL, so
    /// workers on several hosts share it. Only diagnostic jobs run here so far: the run-report handler
    /// needs the stores (reports, runs, tokens, the OneNote budget) on PostgreSQL, which are not built
    /// yet; a worker configured for report jobs says so and stops rather than leasing jobs it cannot run.
    func runOnPostgres(url: String, settings: ReportsConfiguration, logger: Logger) async throws {
        let environment = ProcessInfo.processInfo.environment
        let postgres: PostgresSettings
        do {
            postgres = try PostgresSettings(url: url, environment: environment)
        } catch {
            ProcessSupport.fail(program: "worker", "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
        if ["REPORTS_TOKEN_KEYS", "MS_CLIENT_ID", "MS_CLIENT_SECRET"].contains(where: {
            !(environment[$0] ?? "").isEmpty
        }) {
            ProcessSupport.fail(
                program: "worker",
                "REPORTS_DATABASE: report jobs cannot run on PostgreSQL yet (its stores are not built: issue #16); unset REPORTS_TOKEN_KEYS, MS_CLIENT_ID and MS_CLIENT_SECRET to run diagnostic jobs, or use SQLite",
                exitCode: ProcessSupport.configurationExitCode)
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
        let runtime = WorkerRuntime(
            queue: PostgresJobQueue(database: database, fairness: settings.limits.fairness),
            registry: JobRegistry([DiagnosticJob()]),
            configuration: runtimeConfiguration,
            logger: logger,
            observer: metrics)
        // Stopped in reverse order: metrics, the runtime (grace period), and the pool last, so the
        // runtime can still settle its jobs while it stops.
        var services: [any Service] = [database, runtime]
        if let metricsPort { services.append(metrics.server(port: metricsPort)) }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
