import ArgumentParser
import Foundation
import ServiceSetup
import Transport

/// `enqueuer check-upstream URL`: one GET through the very transport the API and workers use (same
/// URL policy, same TLS stack), so an operator can see from this host whether Atlassian and Microsoft
/// are reachable and why not (refused TLS handshake, untrusted certificate, closed port, DNS).
struct CheckUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-upstream",
        abstract: "GET a URL with the product's outbound HTTP transport and report the status or why it failed.")

    @Argument(help: "An https:// URL (http:// to loopback only with REPORTS_SANDBOX=1).")
    var url: String

    func run() async throws {
        let settings = ProcessSupport.loadConfiguration(program: "enqueuer")
        guard let target = URL(string: url), target.host != nil else {
            ProcessSupport.fail(program: "enqueuer", "check-upstream: not a URL")
        }
        let transport = CurlTransport(policy: settings.outboundPolicy)
        do {
            let response = try await transport.send(OutboundRequest(method: "GET", url: target, timeout: .seconds(10)))
            print("reachable: HTTP \(response.status) from \(target.host ?? "?")")
        } catch let error as HTTPTransportError {
            ProcessSupport.fail(program: "enqueuer", "check-upstream: \(error.message)")
        }
    }
}
