import ArgumentParser
import Foundation
import Logging
import Reports
import ReportsSupport
import ServiceLifecycle
import ServiceSetup
import StorageBackends
import UnixSignals

struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Enqueue scheduled reports that are due, every --interval seconds (or once). Several may run at once."
    )

    @Flag(help: "One pass, then exit.") var once = false
    @Option(help: "Seconds between passes.") var interval: Double = 30

    func validate() throws {
        guard interval >= 1 && interval <= 3600 else { throw ValidationError("--interval must be between 1 and 3600") }
    }

    func run() async throws {
        let logger = Logger(label: "reports.cron")
        let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
        let storage = await ReportsStorage.open(settings, program: "enqueuer", logger: logger)
        let scheduler = storage.scheduler(logger: logger)
        // Services stop in reverse order: the scheduler, then the storage's own (a connection pool).
        var services = storage.services
        if once {
            services.append(OnePass(scheduler: scheduler))
        } else {
            services.append(
                SchedulerService(scheduler: scheduler, interval: .milliseconds(Int64(interval * 1000)), logger: logger))
        }
        try await ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}

/// `--once`: one pass, its summary printed, then the process ends (the group stops when it returns).
struct OnePass: Service {
    let scheduler: any DueReportScheduling

    func run() async throws {
        let tick = try await scheduler.pass()
        print("enqueued \(tick.enqueued), joined a waiting run \(tick.joined), unscheduled (invalid) \(tick.invalid)")
    }
}

/// Runs a scheduler pass (until nothing is due) every interval until graceful shutdown; a failed pass is
/// logged and retried next interval.
struct SchedulerService: Service {
    let scheduler: any DueReportScheduling
    let interval: Duration
    let logger: Logger

    func run() async throws {
        logger.info("cron started", metadata: ["interval_ms": "\(interval.wholeMilliseconds)"])
        while !Task.isShuttingDownGracefully {
            do {
                _ = try await scheduler.pass()
            } catch {
                logger.error("scheduler pass failed", metadata: ["error": "\(String(describing: type(of: error)))"])
            }
            // Sleeps are cut short by graceful shutdown.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        logger.info("cron stopped")
    }
}
