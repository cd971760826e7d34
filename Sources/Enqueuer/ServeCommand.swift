import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Microsoft
import Reports
import ReportsAPI
import Security
import ServiceLifecycle
import ServiceSetup
import StorageBackends
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
        let forge: ForgeConfiguration
        let security: SecurityConfiguration
        let upstream: UpstreamConfiguration
        let onenote: OneNoteLimits
        do {
            forge = try ForgeConfiguration(environment: environment, urlPolicy: settings.outboundPolicy)
            security = try SecurityConfiguration(environment: environment)
            upstream = try UpstreamConfiguration(environment: environment, policy: settings.outboundPolicy)
            onenote = try OneNoteLimits(environment: environment)
        } catch {
            ProcessSupport.fail(program: "enqueuer", "\(error)", exitCode: ProcessSupport.configurationExitCode)
        }
        let logger = Logger(label: "reports.api")
        // The wiring: one backend's stores behind the API's store protocols.
        let transport = CurlTransport(policy: settings.outboundPolicy)
        let microsoft = MicrosoftIdentityClient(configuration: upstream, transport: transport)
        let (vault, holder) = (
            TokenVault(keys: security.tokenKeys), "\(APIServices.processId):\(UUID().uuidString.lowercased())"
        )
        // Services stop in reverse order: the server, the budget keeper, then the storage's own.
        let storage = await ReportsStorage.open(settings, program: "enqueuer", logger: logger)
        // The span exporter first: services stop in reverse order, so it sends the last spans.
        var services = ProcessSupport.startTracing(program: "enqueuer").map { [$0] } ?? []
        services += storage.services
        // The API's own OneNote calls (section listing) draw from the budget the workers share; a
        // request waits a few seconds for a busy slot at most.
        let budget = OneNoteRateLimiter(
            storage: storage.budgetStorage, perMinute: onenote.perMinute, perHour: onenote.perHour,
            maxWait: .seconds(5), holder: holder)
        let apiServices = APIServices(
            stores: storage.apiStores(vault: vault),
            tokens: MicrosoftTokenBroker(storage: storage.tokenStorage, vault: vault, microsoft: microsoft),
            onenoteBudget: budget, forge: forge, security: security, upstream: upstream,
            microsoft: microsoft,
            transport: transport, logger: logger, license: settings.license, limits: settings.limits)
        let app = Application(
            router: APIRoutes.router(apiServices), server: settings.http.server,
            configuration: settings.http.configuration(
                address: .hostname(host, port: port), serverName: "onenote-reports", logger: logger),
            logger: logger)
        // The budget keeper renews this process's OneNote slots; it stops after the server.
        services.append(OneNoteRateLimiter.Keeper(limiter: budget, workerId: APIServices.processId, logger: logger))
        services.append(app)
        try await ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        ).run()
    }
}
