import ArgumentParser
import Foundation
import Hummingbird
import Logging

@main
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Local stand-ins for Atlassian and Microsoft: a development tool; production never points at it.",
        subcommands: [Serve.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the stand-ins on loopback.")

        @Option(help: "Port to listen on.") var port = 9900
        @Option(
            help:
                "Address to listen on (loopback by default; the several-hosts tests run it on a network of their own). URLs it hands out name 127.0.0.1."
        )
        var host = "127.0.0.1"
        @Option(help: "Seed of the generated data (same seed, same data).") var seed: UInt64 = 1
        @Option(help: "How many Jira issues to generate.") var issues = 60
        @Option(
            name: .customLong("archive-issues"),
            help: "Extra issues in project ARC with long summaries (a report of them needs several OneNote requests).")
        var archiveIssues = 0
        @Option(
            name: .customLong("extra-filters"), help: "Extra shared saved filters (for paging through filter/search).")
        var extraFilters = 0
        @Option(
            name: .customLong("extra-accounts"),
            help: "Extra Jira accounts sandbox-user-3, 4, … the app may act as (tests of many users).")
        var extraAccounts = 0
        @Option(name: .customLong("ms-client-id"), help: "The Microsoft app's client id.") var msClientId =
            "sandbox-client"
        @Option(name: .customLong("ms-client-secret"), help: "The Microsoft app's client secret.") var msClientSecret =
            "sandbox-secret"
        @Option(
            name: .customLong("section-page-cap"),
            help: "Pages per OneNote section before 507 (Microsoft's number is undocumented).")
        var sectionPageCap = 500
        @Option(
            name: .customLong("consistency-delay-ms"),
            help:
                "After a page is created, how long the API answers 404/20102 for it (OneNote's eventual consistency; 0 turns it off)."
        )
        var consistencyDelayMs = 400
        @Option(
            name: .customLong("onenote-per-minute"),
            help: "OneNote requests per Microsoft user and minute (Microsoft: 120; lower for tests).")
        var onenotePerMinute = 120
        @Option(
            name: .customLong("onenote-per-hour"),
            help: "OneNote requests per Microsoft user and hour (Microsoft: 400; lower for tests).")
        var onenotePerHour = 400

        @Option(
            name: .customLong("privacy-cycle-period"),
            help:
                "The Cycle-Period header of the personal data reporting answers (seconds, or an ISO 8601 duration such as P7D)."
        )
        var privacyCyclePeriod = "604800"
        @Option(
            name: .customLong("api-url"),
            help:
                "Where `enqueuer serve` listens (http://127.0.0.1:PORT): the Jira stand-in page (/jira/app) forwards the UI's calls there."
        )
        var apiURL: String?
        @Option(
            name: .customLong("ui-dir"), help: "The Custom UI's files, served to the Jira stand-in page's iframe.")
        var uiDir = "deploy/forge/static/reports"

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            guard (1...100_000).contains(issues) else { throw ValidationError("--issues must be between 1 and 100000") }
            guard (0...10_000).contains(extraFilters) else {
                throw ValidationError("--extra-filters must be between 0 and 10000")
            }
            guard (0...10_000).contains(extraAccounts) else {
                throw ValidationError("--extra-accounts must be between 0 and 10000")
            }
            guard (0...100_000).contains(archiveIssues) else {
                throw ValidationError("--archive-issues must be between 0 and 100000")
            }
            guard (0...120_000).contains(consistencyDelayMs) else {
                throw ValidationError("--consistency-delay-ms must be between 0 and 120000")
            }
            if let apiURL {
                guard let url = URL(string: apiURL), url.scheme == "http" || url.scheme == "https", url.host != nil
                else {
                    throw ValidationError("--api-url must be an http(s) URL")
                }
            }
            guard (1...100_000).contains(onenotePerMinute), (1...1_000_000).contains(onenotePerHour) else {
                throw ValidationError("--onenote-per-minute must be 1 to 100000 and --onenote-per-hour 1 to 1000000")
            }
        }

        func run() async throws {
            let state = try await SandboxState(
                seed: seed, issues: issues, archiveIssues: archiveIssues, extraFilters: extraFilters,
                extraAccounts: extraAccounts, msClientId: msClientId, msClientSecret: msClientSecret)
            let app = Application(
                router: SandboxApp.router(
                    state, sectionPageCap: sectionPageCap,
                    throttle: OneNoteThrottle(perMinute: onenotePerMinute, perHour: onenotePerHour),
                    consistencyDelay: .milliseconds(consistencyDelayMs),
                    personalData: PersonalDataLedger(cyclePeriod: privacyCyclePeriod),
                    jiraHost: JiraHost(
                        state: state, apiURL: apiURL.flatMap { URL(string: $0) },
                        uiDirectory: URL(fileURLWithPath: uiDir).standardizedFileURL.path)),
                configuration: .init(
                    address: .hostname(host, port: port), serverName: "onenote-reports-sandbox"),
                onServerRunning: { channel in
                    // With --port 0 the system picks the port; print the one really bound.
                    let base = "http://127.0.0.1:\(channel.localAddress?.port ?? port)"
                    state.setOrigin(base)
                    let line =
                        "sandbox ready: REPORTS_SANDBOX=1 FORGE_APP_ID=\(state.appId) FORGE_JWKS_URL=\(base)/.well-known/jwks.json ATLASSIAN_GRAPHQL_URL=\(base)/graphql ATLASSIAN_PERSONAL_DATA_URL=\(base)/app/report-accounts/ MS_LOGIN_BASE_URL=\(base) MS_GRAPH_BASE_URL=\(base) MS_CLIENT_ID=\(msClientId)\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                },
                logger: Logger(label: "sandbox"))
            try await app.runService()
        }
    }
}

enum SandboxApp {
    /// `consistencyDelay`: the sandbox is as awkward as OneNote by default (docs/page-identity.md); tests of other
    /// things may pass `.zero`.
    static func router(
        _ state: SandboxState, sectionPageCap: Int = 500, throttle: OneNoteThrottle = OneNoteThrottle(),
        consistencyDelay: Duration = .milliseconds(400), personalData: PersonalDataLedger = PersonalDataLedger(),
        jiraHost: JiraHost? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let store = OneNoteStore(sectionPageCap: sectionPageCap, consistencyDelay: consistencyDelay)
        let plan = FaultPlan()
        router.add(middleware: FaultMiddleware(plan: plan))
        AtlassianRoutes.add(to: router, state: state)
        MicrosoftRoutes.add(to: router, state: state, throttle: throttle)
        OneNoteRoutes.add(to: router, state: state, store: store, throttle: throttle)
        ControlRoutes.add(to: router, state: state, store: store, plan: plan, throttle: throttle)
        personalData.add(to: router, state: state)
        jiraHost?.add(to: router)
        return router
    }
}
