import Crypto
import Foundation
import GRDB
import Testing
@testable import Shared
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The product as separate processes: the sandbox, `enqueuer serve`, two `worker run`, one SQLite file.
/// Driven over HTTP as the Forge app would; every process's log is captured and searched for secrets.
@Suite("Report pipeline end to end (real processes)", .serialized)
struct ProcessPipelineTests {
    struct HTTPResult { let status: Int; let json: [String: Any]; let text: String }

    static func call(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        return HTTPResult(status: (response as! HTTPURLResponse).statusCode,
                          json: (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:], text: text)
    }

    @Test func runNowThroughRealProcessesSurvivesAKilledWorkerAndLeaksNothing() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var processes: [ChildProcess] = []
        defer { for process in processes where process.isRunning { process.signal(SIGKILL); process.process.waitUntilExit() } }

        let sandbox = try ChildProcess("sandbox", ["serve", "--port", "0", "--seed", "31", "--issues", "40"], environment: [:], outputPath: directory.file("sandbox.log"))
        processes.append(sandbox)
        #expect(try await waitUntil(timeout: .seconds(30)) { sandbox.output.contains("sandbox ready:") })
        var env: [String: String] = [:]
        for pair in try #require(sandbox.output.split(separator: "\n").first { $0.hasPrefix("sandbox ready:") }).dropFirst("sandbox ready: ".count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            env[String(parts[0])] = String(parts[1])
        }
        let sandboxBase = try #require(env["MS_GRAPH_BASE_URL"])
        let port = Int.random(in: 20_000...40_000)
        let tokenKey = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        env.merge([
            "REPORTS_DATABASE": directory.file("reports.sqlite"), "REPORTS_LOG_LEVEL": "debug",
            "REPORTS_TOKEN_KEYS": "k1:\(tokenKey)", "REPORTS_STATE_KEY": SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() },
            "MS_CLIENT_SECRET": "sandbox-secret", "MS_REDIRECT_URI": "http://127.0.0.1:\(port)/oauth/microsoft/callback",
        ]) { $1 }
        #expect(try await ChildProcess.run("enqueuer", ["migrate"], environment: env, in: directory).status == 0)
        let api = try ChildProcess("enqueuer", ["serve", "--port", "\(port)"], environment: env, outputPath: directory.file("api.log"))
        processes.append(api)
        let workers = try ["w-a", "w-b"].map { try ChildProcess("worker", ["run", "--id", $0, "--lease-seconds", "3"], environment: env, outputPath: directory.file("\($0).log")) }
        processes += workers
        let apiBase = "http://127.0.0.1:\(port)"
        #expect(try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(50)) { (try? await Self.call("GET", "\(apiBase)/healthz"))?.status == 200 })

        // What the Forge app does: a FIT per call (they last 25 s), the system token on the trigger.
        var secrets: [String] = [tokenKey, "sandbox-secret"]
        func headers() async throws -> [String: String] {
            let minted = try await Self.call("POST", "\(sandboxBase)/sandbox/fit", body: #"{"accountId":"sandbox-user-1"}"#).json
            let fit = minted["fit"] as! String, system = minted["systemToken"] as! String, user = minted["userToken"] as! String
            secrets += [fit, system, user]
            return ["Authorization": "Bearer \(fit)", "Content-Type": "application/json", "x-forge-oauth-system": system]
        }
        #expect(try await Self.call("POST", "\(apiBase)/forge/trigger", headers: try await headers()).status == 200)
        let connect = try await Self.call("POST", "\(apiBase)/v1/microsoft/connect", headers: try await headers())
        // The sandbox consents at once and redirects to our callback; URLSession follows it.
        let connected = try await Self.call("GET", try #require(connect.json["authorizeUrl"] as? String))
        #expect(connected.status == 200 && connected.text.contains("Connected"), "\(connected.text)")

        let body = #"{"name":"Ops board","jql":"project = OPS ORDER BY key","columns":["key","summary","status","assignee"],"sectionId":"1-0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d30!11-7F3A2C1B"}"#
        let reportId = try #require(try await Self.call("POST", "\(apiBase)/v1/reports", headers: try await headers(), body: body).json["id"] as? String)
        func runAndWait(timeout: Duration = .seconds(60)) async throws -> [String: Any] {
            let runId = try #require(try await Self.call("POST", "\(apiBase)/v1/reports/\(reportId)/runs", headers: try await headers()).json["id"] as? String)
            var last: [String: Any] = [:]
            _ = try await waitUntil(timeout: timeout, pollEvery: .milliseconds(50)) {
                last = try await Self.call("GET", "\(apiBase)/v1/runs/\(runId)", headers: try await headers()).json
                return ["succeeded", "failed"].contains(last["status"] as? String ?? "")
            }
            return last
        }
        let first = try await runAndWait()
        #expect(first["status"] as? String == "succeeded" && first["issueCount"] as? Int == 20, "\(first)")
        let pages = try JSONSerialization.jsonObject(with: Data(try await Self.call("GET", "\(sandboxBase)/sandbox/pages").text.utf8)) as? [[String: Any]] ?? []
        #expect(pages.count == 1 && (pages.first?["html"] as? String)?.contains("&lt;script&gt;") == true)

        // Kill the worker that holds the next run mid-write; the other finishes it after the lease expires.
        _ = try await Self.call("POST", "\(sandboxBase)/sandbox/faults", body: #"{"route":"/v1.0/me/onenote/pages/","latencyMs":2500,"count":1}"#)
        let runId = try #require(try await Self.call("POST", "\(apiBase)/v1/reports/\(reportId)/runs", headers: try await headers()).json["id"] as? String)
        let database = try ReportsDatabase.open(path: env["REPORTS_DATABASE"]!)
        var holder: String?
        #expect(try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(20)) {
            holder = try await database.pool.read { try String.fetchOne($0, sql: "SELECT worker_id FROM jobs WHERE state = 'running'") }
            return holder != nil
        })
        let victim = try #require(workers.first { ["w-a", "w-b"].contains(holder) && $0.process.arguments?.contains(holder!) == true })
        victim.signal(SIGKILL)
        victim.process.waitUntilExit()
        var finished: [String: Any] = [:]
        #expect(try await waitUntil(timeout: .seconds(60), pollEvery: .milliseconds(100)) {
            finished = try await Self.call("GET", "\(apiBase)/v1/runs/\(runId)", headers: try await headers()).json
            return finished["status"] as? String == "succeeded"
        }, "\(finished)")
        let after = try JSONSerialization.jsonObject(with: Data(try await Self.call("GET", "\(sandboxBase)/sandbox/pages").text.utf8)) as? [[String: Any]] ?? []
        #expect(after.count == 1 && after.first?["id"] as? String == pages.first?["id"] as? String, "still one page, updated in place")
        let survivor = try #require(workers.first { $0 !== victim })
        #expect(try await database.pool.read { try String.fetchOne($0, sql: "SELECT worker_id FROM jobs WHERE state = 'succeeded' ORDER BY id DESC LIMIT 1") } == survivor.process.arguments?[2])

        for process in processes where process.isRunning { process.signal(SIGTERM) }
        for process in processes { _ = try await process.waitForExit(timeout: .seconds(30)) }

        // No process logged a token, a key, a Jira summary or page content.
        let logs = processes.map(\.output).joined(separator: "\n")
        #expect(logs.contains("report written"), "the logs were captured")
        let contents = ["alert('owned')", "Tom & Jerry", "<table data-id", "sandbox-refresh-", "sandbox-access-", "sandbox-code-"]
        for needle in secrets + contents { #expect(!logs.contains(needle), "a log line holds \(needle.prefix(24))…") }
    }
}
