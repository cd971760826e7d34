import ArgumentParser
import Foundation
import Hummingbird
import JobQueueSQLite
import Logging
import Microsoft
import Reports
import ReportsAPI
import ReportsSQLite
import Security
import ServiceLifecycle
import ServiceSetup
import Transport
import UnixSignals
import Upstream

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the API the Forge app talks to (HTTP on loopback; TLS ends at nginx).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(
        name: .customLong("behind-tls-proxy"),
        help: "Required to bind anything but loopback: a TLS proxy (nginx) is in front.")
    var behindTLSProxy = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if !OutboundURLPolicy.isLoopback(host) && !behindTLSProxy {
            throw ValidationError(
                "--host \(host) is not a loopback address: the API speaks plain HTTP, so add --behind-tls-proxy only if nginx (or another TLS proxy) is in front"
            )
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
        requireSQLite(settings, command: "serve")
        let forge: ForgeConfiguration
        let security: SecurityConfiguration
        let upstream: UpstreamConfiguration
        do {
            forge = try ForgeConfiguration(environment: environment, urlPolicy: settings.outboundPolicy)
            security = try SecurityConfiguration(environment: environment)
            upstream = try UpstreamConfiguration(environment: environment, policy: settings.outboundPolicy)
        } catch {
            ProcessSupport.fail(program: "enqueuer", "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
        let logger = Logger(label: "reports.api")
        // The wiring: the SQLite stores behind the API's store protocols.
        let transport = URLSessionTransport(policy: settings.outboundPolicy)
        let microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
        let sqlite = SQLiteServiceStores(
            database: openQueue().database, vault: TokenVault(keys: security.tokenKeys), microsoft: microsoft,
            limits: settings.limits, budgetHolder: "\(APIServices.processId):\(UUID().uuidString.lowercased())")
        let services = APIServices(
            stores: sqlite.stores, forge: forge, security: security, upstream: upstream, microsoft: microsoft,
            transport: transport, logger: logger)
        let app = Application(
            router: APIRoutes.router(services),
            configuration: .init(address: .hostname(host, port: port), serverName: "onenote-reports"),
            logger: logger)
        // The budget keeper renews this process's OneNote slots; it stops after the server.
        let keeper = OneNoteBudgetKeeper(
            limiter: sqlite.onenoteBudget, workerId: APIServices.processId, logger: logger)
        try await ServiceGroup(
            configuration: .init(
                services: [keeper, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}
