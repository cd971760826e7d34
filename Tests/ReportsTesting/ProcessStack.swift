import Crypto
import Foundation
import GRDB
package import SQLiteBackend
package import TestSupport
import Transport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The product as separate processes on one SQLite file: the sandbox, `enqueuer serve` and workers,
/// driven over HTTP as the Forge app would. Every process's log is kept for the secret checks.
package final class ProcessStack: @unchecked Sendable {
    package struct HTTPResult {
        package let status: Int
        package let json: [String: Any]
        package let text: String
        /// Response headers, names in lower case.
        package var headers: [String: String] = [:]
        /// The API's stable error code, when the answer is an error.
        package var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    package let directory = TemporaryDirectory()
    package internal(set) var processes: [ChildProcess] = []
    package internal(set) var workers: [String: ChildProcess] = [:]
    package internal(set) var env: [String: String] = [:]
    package internal(set) var secrets: [String] = []
    package let apiPort = TestPorts.unassigned()
    package var apiBase: String { "http://127.0.0.1:\(apiPort)" }
    package var sandboxBase: String { env["MS_GRAPH_BASE_URL"]! }

    package static func call(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil)
        async throws -> HTTPResult
    {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        // The API answers in milliseconds; a request that hangs must not use up a whole wait for start-up.
        request.timeoutInterval = 10
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return HTTPResult(
            status: http.statusCode, json: (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:],
            text: String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// An empty stack, for a factory that starts the processes itself (`acrossHosts`).
    init(startingNothing: Void) {}

    /// Starts the sandbox and the API on a migrated database.
    /// `environment` is added to every service's (limits a test needs, e.g. the per-key cap).
    package init(sandboxArguments: [String] = ["--seed", "31", "--issues", "40"], environment: [String: String] = [:])
        async throws
    {
        let sandbox = try ChildProcess(
            "sandbox", ["serve", "--port", "0"] + sandboxArguments, environment: [:],
            outputPath: directory.file("sandbox.log"))
        processes.append(sandbox)
        guard try await waitUntil(timeout: .seconds(30), { sandbox.output.contains("sandbox ready:") }),
            let line = sandbox.output.split(separator: "\n").first(where: { $0.hasPrefix("sandbox ready:") })
        else { throw ChildProcessError(message: "the sandbox did not start") }
        for pair in line.dropFirst("sandbox ready: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            env[String(parts[0])] = String(parts[1])
        }
        let tokenKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        secrets = [tokenKey, "sandbox-secret"]
        env.merge(
            [
                "REPORTS_DATABASE": directory.file("reports.sqlite"), "REPORTS_LOG_LEVEL": "debug",
                "REPORTS_TOKEN_KEYS": "k1:\(tokenKey)",
                "REPORTS_STATE_KEY": SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() },
                "MS_CLIENT_SECRET": "sandbox-secret",
                "MS_REDIRECT_URI": "http://127.0.0.1:\(apiPort)/oauth/microsoft/callback",
            ].merging(environment) { $1 }
        ) { $1 }
        guard try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0 else {
            throw ChildProcessError(message: "enqueuer migrate failed")
        }
        processes.append(
            try ChildProcess(
                "enqueuer", ["serve", "--port", "\(apiPort)"], environment: env, outputPath: directory.file("api.log")))
        let base = apiBase
        guard
            try await waitUntil(
                timeout: .seconds(30), pollEvery: .milliseconds(50),
                { (try? await Self.call("GET", "\(base)/healthz"))?.status == 200 })
        else {
            throw ChildProcessError(message: "the API did not start: \(processes.last?.output ?? "")")
        }
    }

    @discardableResult
    package func startWorker(_ id: String, leaseSeconds: Double = 3, graceSeconds: Double = 10, concurrency: Int = 8)
        throws -> ChildProcess
    {
        let worker = try ChildProcess(
            "worker",
            [
                "run", "--id", id, "--lease-seconds", "\(leaseSeconds)", "--grace-seconds", "\(graceSeconds)",
                "--concurrency", "\(concurrency)",
            ],
            environment: env, outputPath: directory.file("\(id)-\(processes.count).log"))
        processes.append(worker)
        workers[id] = worker
        return worker
    }

    /// Two workers (`w-a`, `w-b`), Forge's trigger, the Microsoft connect flow and one report: the
    /// starting point of the crash tests. Returns the report id, or nil if a step failed.
    package func connectedWithReport(leaseSeconds: Double, graceSeconds: Double = 10) async throws -> String? {
        for id in ["w-a", "w-b"] { try startWorker(id, leaseSeconds: leaseSeconds, graceSeconds: graceSeconds) }
        guard try await installAndConnect() else { return nil }
        return try await createReport()
    }

    package lazy var database: ReportsDatabase = try! ReportsDatabase.open(path: env["REPORTS_DATABASE"]!)

    /// FIT headers for `account` (`sandbox-user-1` by default), with the system and user tokens Forge
    /// sends on a call from the app (the manifest asks for both).
    /// `module` is the UI module the call comes from: the app's page, or `admin` (Manage apps → Configure).
    package func headers(account: String = "sandbox-user-1", module: String = "page") async throws -> [String: String] {
        let minted = try await Self.call(
            "POST", "\(sandboxBase)/sandbox/fit", body: #"{"accountId":"\#(account)","module":"\#(module)"}"#
        ).json
        let fit = minted["fit"] as! String
        let system = minted["systemToken"] as! String
        let user = minted["userToken"] as! String
        secrets += [fit, system, user]
        return [
            "Authorization": "Bearer \(fit)", "Content-Type": "application/json", "x-forge-oauth-system": system,
            "x-forge-oauth-user": user,
        ]
    }

    /// What Forge sends a scheduled trigger: a FIT without a principal and the app's system token (the
    /// only call the API takes a system token from).
    package func triggerHeaders() async throws -> [String: String] {
        let minted = try await Self.call("POST", "\(sandboxBase)/sandbox/fit", body: #"{"trigger":true}"#).json
        let fit = minted["fit"] as! String
        let system = minted["systemToken"] as! String
        secrets += [fit, system]
        return ["Authorization": "Bearer \(fit)", "Content-Type": "application/json", "x-forge-oauth-system": system]
    }

    /// Forge's trigger and the Microsoft connect flow in one browser: start URL, the sandbox's consent,
    /// the callback, Connect on the confirmation page. `loginHint` picks the sandbox's Microsoft user
    /// (each hint its own, with its own OneNote limits).
    package func installAndConnect(account: String = "sandbox-user-1", loginHint: String? = nil) async throws -> Bool {
        guard try await Self.call("POST", "\(apiBase)/forge/trigger", headers: try await triggerHeaders()).status == 200
        else { return false }
        let connect = try await Self.call(
            "POST", "\(apiBase)/v1/microsoft/connect", headers: try await headers(account: account))
        guard let startUrl = connect.json["startUrl"] as? String else { return false }
        let browser = ConnectBrowser.http(apiBase)
        guard let authorize = try await browser.start(startUrl).headers["location"],
            let callback = try await consent(
                authorize + (loginHint.map { "&login_hint=\($0.replacingOccurrences(of: "@", with: "%40"))" } ?? ""))
        else { return false }
        let page = try await browser.callback(callback)
        let connected = try await browser.confirm(page: page.text)
        return connected.status == 200 && connected.text.contains("Connected")
    }

    /// The sandbox's Microsoft consent: where it sends the browser back to (the callback URL).
    package func consent(_ authorizeUrl: String) async throws -> String? {
        let response = try await CurlTransport(policy: .sandbox).send(
            OutboundRequest(url: URL(string: authorizeUrl)!))
        return response.header("Location")
    }

    /// `layout`: the report's `layout` object as JSON, if any.
    package func createReport(
        name: String = "Ops board", jql: String = "project = OPS ORDER BY key", account: String = "sandbox-user-1",
        columns: [String] = ["key", "summary", "status", "assignee"], layout: String? = nil
    ) async throws -> String? {
        let list = columns.map { "\"\($0)\"" }.joined(separator: ",")
        let body =
            #"{"name":"\#(name)","jql":"\#(jql)","columns":[\#(list)],"sectionId":"1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B""#
            + (layout.map { #","layout":"# + $0 } ?? "") + "}"
        return try await Self.call(
            "POST", "\(apiBase)/v1/reports", headers: try await headers(account: account), body: body
        ).json["id"] as? String
    }

    package func runNow(_ reportId: String, account: String = "sandbox-user-1") async throws -> [String: Any] {
        try await Self.call(
            "POST", "\(apiBase)/v1/reports/\(reportId)/runs", headers: try await headers(account: account)
        ).json
    }

    package func run(_ runId: String, account: String = "sandbox-user-1") async throws -> [String: Any] {
        try await Self.call("GET", "\(apiBase)/v1/runs/\(runId)", headers: try await headers(account: account)).json
    }

    /// Waits for a run to end; its last JSON.
    package func waitForRun(
        _ runId: String, account: String = "sandbox-user-1", timeout: Duration = .seconds(60),
        pollEvery: Duration = .milliseconds(50)
    ) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        _ = try await waitUntil(timeout: timeout, pollEvery: pollEvery) {
            last = try await self.run(runId, account: account)
            return ["succeeded", "failed"].contains(last["status"] as? String ?? "")
        }
        return last
    }

    package func pages() async throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(
            with: Data(try await Self.call("GET", "\(sandboxBase)/sandbox/pages").text.utf8)) as? [[String: Any]] ?? []
    }

    package func fault(_ json: String) async throws {
        _ = try await Self.call("POST", "\(sandboxBase)/sandbox/faults", body: json)
    }

    /// Types into a cell of a page as a person would in OneNote (the sandbox's control route).
    package func typeIntoPage(_ pageId: String, row: String, column: String = "Notes", text: String) async throws
        -> Bool
    {
        try await Self.call(
            "POST", "\(sandboxBase)/sandbox/pages/\(pageId)/cells",
            body: #"{"row":"\#(row)","column":"\#(column)","text":"\#(text)"}"#
        ).status == 200
    }

    package func editIssue(_ key: String, summary: String) async throws {
        _ = try await Self.call("POST", "\(sandboxBase)/sandbox/issues/\(key)", body: #"{"summary":"\#(summary)"}"#)
    }

    /// The worker process holding the running job, once one does.
    package func holderOfRunningJob(timeout: Duration = .seconds(30)) async throws -> ChildProcess? {
        var holder: String?
        _ = try await waitUntil(timeout: timeout, pollEvery: .milliseconds(20)) {
            holder = try await self.database.pool.read {
                try String.fetchOne($0, sql: "SELECT worker_id FROM jobs WHERE state = 'running'")
            }
            return holder != nil
        }
        return holder.flatMap { workers[$0] }
    }

    package var logs: String { processes.map(\.output).joined(separator: "\n") }

    /// SIGTERM to everything still running, then SIGKILL to what does not stop.
    package func stop() async {
        for process in processes where process.isRunning {
            process.signal(SIGCONT)
            process.signal(SIGTERM)
        }
        for process in processes { _ = try? await process.waitForExit(timeout: .seconds(30)) }
    }

    /// For `defer`: kills whatever still runs (a failed test) and removes the folder.
    package func remove() {
        for process in processes where process.isRunning {
            process.signal(SIGKILL)
            process.process.waitUntilExit()
        }
        directory.remove()
    }
}
