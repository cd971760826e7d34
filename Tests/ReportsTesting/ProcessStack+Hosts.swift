import Crypto
import Foundation
package import PostgresTesting
package import TestSupport

/// The product across hosts of its own: `TestNetwork` namespaces joined through a
/// routed hub. PostgreSQL and the sandbox (the clouds) run in the hub; the API runs on host `apiHost`;
/// workers on the others. Every process reaches the sandbox at 127.0.0.1 through a forwarder on its
/// host (`Tests/netns/tcp_forward.py`: the services speak plain HTTP to loopback only), and the test
/// reaches the API the same way from its own namespace, so the connect flow's URLs hold everywhere.
extension ProcessStack {
    package struct Hosts: Sendable {
        package let network: TestNetwork
        package let server: PostgresTestCluster
        /// The index in `network.hosts` of the API's host.
        package let apiHost: Int

        package init(network: TestNetwork, server: PostgresTestCluster, apiHost: Int) {
            self.network = network
            self.server = server
            self.apiHost = apiHost
        }
    }

    package static func acrossHosts(_ hosts: Hosts, sandboxArguments: [String] = ["--seed", "31", "--issues", "40"])
        async throws -> ProcessStack
    {
        let stack = ProcessStack(startingNothing: ())
        let network = hosts.network
        let sandbox = try ChildProcess(
            "sandbox", ["serve", "--host", "0.0.0.0", "--port", "0"] + sandboxArguments, environment: [:],
            outputPath: stack.directory.file("sandbox.log"), namespace: network.hub)
        stack.processes.append(sandbox)
        guard try await waitUntil(timeout: .seconds(30), { sandbox.output.contains("sandbox ready:") }),
            let line = sandbox.output.split(separator: "\n").first(where: { $0.hasPrefix("sandbox ready:") })
        else { throw ChildProcessError(message: "the sandbox did not start") }
        for pair in line.dropFirst("sandbox ready: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            stack.env[String(parts[0])] = String(parts[1])
        }
        guard let sandboxPort = URL(string: stack.sandboxBase)?.port else {
            throw ChildProcessError(message: "the sandbox named no port: \(line)")
        }
        // The sandbox at 127.0.0.1 on every host and in the test's namespace.
        try await stack.forward(port: sandboxPort, to: network.hubRootAddress, namespace: nil)
        for (index, host) in network.hosts.enumerated() {
            try await stack.forward(port: sandboxPort, to: network.hubAddress(forHost: index), namespace: host)
        }
        let tokenKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        stack.secrets = [tokenKey, "sandbox-secret"]
        stack.env.merge([
            "REPORTS_DATABASE": stack.databaseURL(hosts, host: hosts.apiHost), "REPORTS_LOG_LEVEL": "debug",
            "REPORTS_TOKEN_KEYS": "k1:\(tokenKey)",
            "REPORTS_STATE_KEY": SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() },
            "MS_CLIENT_SECRET": "sandbox-secret",
            "MS_REDIRECT_URI": "http://127.0.0.1:\(stack.apiPort)/oauth/microsoft/callback",
        ]) { $1 }
        let apiNamespace = network.hosts[hosts.apiHost]
        let migrate = try ChildProcess(
            "enqueuer", ["migrate"], environment: stack.env, outputPath: stack.directory.file("migrate.log"),
            namespace: apiNamespace)
        guard try await migrate.waitForExit(timeout: .seconds(60)) == 0 else {
            throw ChildProcessError(message: "enqueuer migrate failed: \(migrate.output)")
        }
        stack.processes.append(
            try ChildProcess(
                "enqueuer",
                [
                    "serve", "--host", network.hostAddress(hosts.apiHost), "--port", "\(stack.apiPort)",
                    "--behind-tls-proxy",
                ],
                environment: stack.env, outputPath: stack.directory.file("api.log"), namespace: apiNamespace))
        try await stack.forward(port: stack.apiPort, to: network.hostAddress(hosts.apiHost), namespace: nil)
        let base = stack.apiBase
        guard
            try await waitUntil(
                timeout: .seconds(30), pollEvery: .milliseconds(50),
                { (try? await Self.call("GET", "\(base)/healthz"))?.status == 200 })
        else {
            throw ChildProcessError(message: "the API did not start: \(stack.logs)")
        }
        return stack
    }

    /// A worker on host `host` of `hosts`, reaching PostgreSQL over that host's link.
    @discardableResult
    package func startWorker(_ id: String, on host: Int, of hosts: Hosts) throws -> ChildProcess {
        var environment = env
        environment["REPORTS_DATABASE"] = databaseURL(hosts, host: host)
        let worker = try ChildProcess(
            "worker", ["run", "--id", id, "--lease-seconds", "5", "--concurrency", "4"], environment: environment,
            outputPath: directory.file("\(id).log"), namespace: hosts.network.hosts[host])
        processes.append(worker)
        workers[id] = worker
        return worker
    }

    /// PostgreSQL in the hub as host `host` reaches it.
    func databaseURL(_ hosts: Hosts, host: Int) -> String {
        "postgres://reports@\(hosts.network.hubAddress(forHost: host)):\(hosts.server.port)/reports?sslmode=disable"
    }

    /// 127.0.0.1:`port` in `namespace` (nil: the test's own) forwards to `address`:`port`.
    func forward(port: Int, to address: String, namespace: String?) async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("netns/tcp_forward.py").path
        let forwarder = try ChildProcess(
            "/usr/bin/python3", [script, "127.0.0.1:\(port)", "\(address):\(port)"], environment: [:],
            outputPath: directory.file("forward-\(namespace ?? "root")-\(port).log"), namespace: namespace)
        processes.append(forwarder)
        guard try await waitUntil(timeout: .seconds(10), { forwarder.output.contains("forwarding") }) else {
            throw ChildProcessError(message: "a forwarder did not start: \(forwarder.output)")
        }
    }
}
