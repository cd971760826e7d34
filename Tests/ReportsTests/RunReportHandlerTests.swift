import Atlassian
import Foundation
import JobQueue
import Logging
import Rendering
import ReportsTestDoubles
import Security
import Testing
import Transport
import Upstream

@testable import Reports

/// The run handler against in-memory stores and a recording destination, in milliseconds: the order
/// it asks the destination and Jira in, and what the report's row is told. The OneNote
/// destination and both backends run the same path end to end in `PipelineTests`.
@Suite("Run report handler")
struct RunReportHandlerTests {
    static let installation = Installation(
        id: "i1", cloudId: "cloud-1", apiBaseUrl: URL(string: "http://127.0.0.1:1/ex/jira/cloud-1")!, siteUrl: nil)
    static let report = Report(
        id: "r1", installationId: "i1", ownerAccountId: "a1", name: "Open bugs", jql: "type = Bug",
        columns: #"["key","summary"]"#, location: "0-section", enabled: true, createdAt: 0, updatedAt: 0)

    /// A handler whose Jira is a port nothing listens on: a test that reaches Jira fails with
    /// another code than the one it expects, and no system token is stored, so an offline token
    /// cannot be minted either.
    static func handler(_ stores: InMemoryRunReportStores, _ destination: RecordingDestination) -> RunReportHandler {
        RunReportHandler(
            stores: stores, vault: TestVault.make(),
            atlassian: AtlassianClient(
                graphQLURL: URL(string: "http://127.0.0.1:1/graphql")!, transport: CurlTransport(policy: .sandbox)),
            destination: destination)
    }

    /// A handler whose Jira is `jira`, in memory, with the vault `vault` sealed the forwarded token with.
    static func handler(
        _ stores: InMemoryRunReportStores, _ destination: RecordingDestination, jira: InMemoryJira, vault: TokenVault,
        issueCap: Int = 5000
    ) -> RunReportHandler {
        RunReportHandler(
            stores: stores, vault: vault,
            atlassian: AtlassianClient(graphQLURL: URL(string: "http://127.0.0.1:1/graphql")!, transport: jira),
            destination: destination, issueCap: issueCap)
    }

    /// `count` issues whose summaries say which they are.
    static func issues(_ count: Int) -> [[String: any Sendable]] {
        (1...count).map { ["id": "\(10_000 + $0)", "key": "BUG-\($0)", "fields": ["summary": "Issue \($0)"]] }
    }

    /// A Run now's job: the user's token forwarded with it, sealed for this run as the API seals it.
    static func forwardedJob(
        _ stores: InMemoryRunReportStores, _ vault: TokenVault, token: String = "forwarded-user-token"
    ) throws -> JobContext {
        let sealed = try vault.seal(
            Secret(token), context: .forwardedUserToken(installationId: "i1", runId: "run-1"))
        return try job(stores, userToken: Base64URL.encode(sealed), expiresAt: Date().addingTimeInterval(900))
    }

    /// The job as the queue hands it over: leased with the claim of `stores`' report (none: its report
    /// is gone).
    static func job(
        _ stores: InMemoryRunReportStores?, attempt: Int = 1, userToken: String? = nil, expiresAt: Date? = nil
    ) throws -> JobContext {
        let payload = try JSONEncoder().encode(
            RunReportJob(
                runId: "run-1", reportId: "r1", installationId: "i1", ownerAccountId: "a1", userToken: userToken,
                userTokenExpiresAt: expiresAt.map { Int64($0.timeIntervalSince1970 * 1000) }))
        return JobContext(
            id: 1, kind: RunReportJob.kind, payload: payload, attempt: attempt, maxAttempts: 5, workerId: "test",
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), claim: stores?.claim)
    }

    @Test func aSpentBudgetAtTheDestinationDefersTheJobBeforeJiraIsRead() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let spent = JobDeferral("budget_spent", delay: .seconds(60), holdsKey: true)
        let destination = RecordingDestination(refusing: [.open: spent])
        await #expect(throws: spent) { try await Self.handler(stores, destination).handle(try Self.job(stores)) }
        #expect(stores.events.isEmpty, "the report's page is not touched")
        #expect(destination.steps == [.open])
    }

    @Test func aJobLeasedWithoutItsClaimFailsForGoodAsItsReportIsGone() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination).handle(try Self.job(nil))
        }
        #expect(failure?.code == "report_deleted" && failure?.isRetryable == false)
        #expect(stores.events.isEmpty && destination.steps.isEmpty, "nothing was opened or written")
    }

    @Test func anOwnerWhoCannotWriteFailsTheRunBeforeJiraIsRead() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let reconnect = UpstreamError(
            kind: .reconnectRequired, code: "reconnect_required", message: "the connection was revoked")
        let destination = RecordingDestination(refusing: [.open: reconnect])
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination).handle(try Self.job(stores))
        }
        #expect(failure?.code == "reconnect_required" && failure?.isRetryable == false)
        #expect(stores.events.isEmpty, "its end rides on the job's settle")
        #expect(destination.steps == [.open], "no document was written")
    }

    @Test func withoutAWayIntoJiraTheRunFailsForGoodAndNothingIsWritten() async throws {
        // No forwarded user token and no system token for the site: no offline token can be minted.
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination).handle(try Self.job(stores, attempt: 2))
        }
        #expect(failure?.code == "no_system_token")
        #expect(failure?.isRetryable == false && stores.events.isEmpty)
        #expect(destination.steps == [.open])
    }

    @Test func aRunReadsTheReportsColumnsFromJiraAndWritesThemAsOneDocument() async throws {
        let vault = TestVault.make()
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let jira = InMemoryJira(issues: Self.issues(3))
        let result = try await Self.handler(stores, destination, jira: jira, vault: vault)
            .handle(try Self.forwardedJob(stores, vault))
        #expect(stores.events == [.pageKnown("page-r1")])
        #expect(RunOutcome(result)?.issueCount == 3, "the count the job's settle records on the run")
        #expect(destination.steps == [.open, .write])
        #expect(jira.received.map(\.jql) == ["type = Bug"] && jira.received.first?.fields == ["summary", "status"])
        #expect(jira.received.first?.bearer == "forwarded-user-token", "the forwarded token serves a Run now")
        let document = try #require(destination.documents.first)
        #expect(document.header.issueCount == 3 && document.header.cappedAt == nil)
        #expect(document.sections.map(\.columns) == [["Key", "Summary"]])
        #expect(
            document.sections.first?.rows.map { $0.last } == [.text("Issue 1"), .text("Issue 2"), .text("Issue 3")])
    }

    @Test func aSearchOverTheCapIsReadInPagesAndStopsAtTheCap() async throws {
        let vault = TestVault.make()
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let jira = InMemoryJira(issues: Self.issues(250))
        let result = try await Self.handler(stores, destination, jira: jira, vault: vault, issueCap: 120)
            .handle(try Self.forwardedJob(stores, vault))
        #expect(jira.received.count == 2, "two pages of at most 100, then the cap")
        let document = try #require(destination.documents.first)
        #expect(document.header.issueCount == 120 && document.header.cappedAt == 120)
        #expect(RunOutcome(result)?.issueCount == 120)
    }

    @Test func aQueryJiraRefusesFailsTheRunForGoodAndWritesNothing() async throws {
        let vault = TestVault.make()
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let jira = InMemoryJira(issues: [], refused: ["type = Bug": "Field 'type' does not exist."])
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination, jira: jira, vault: vault).handle(
                try Self.forwardedJob(stores, vault))
        }
        #expect(failure?.code == "invalid_jql" && failure?.isRetryable == false)
        #expect(stores.events.isEmpty)
        #expect(destination.steps == [.open], "nothing was written")
    }

    @Test func customColumnsAreHeadedByTheSitesNamesAndShownByTheirKinds() async throws {
        let vault = TestVault.make()
        var report = Self.report
        report.columns = #"["key","customfield_10016","customfield_10099"]"#
        let stores = InMemoryRunReportStores(report: report, installation: Self.installation)
        let destination = RecordingDestination()
        let fields: [[String: any Sendable]] = [
            ["id": "summary", "name": "Summary", "custom": false, "schema": ["type": "string", "system": "summary"]],
            [
                "id": "customfield_10016", "name": "Story points", "custom": true,
                "schema": ["type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"],
            ],
        ]
        let jira = InMemoryJira(
            issues: [["id": "1", "key": "BUG-1", "fields": ["customfield_10016": 2.5]]], fields: fields)
        let handler = Self.handler(stores, destination, jira: jira, vault: vault)
        _ = try await handler.handle(try Self.forwardedJob(stores, vault))
        _ = try await handler.handle(try Self.forwardedJob(stores, vault))
        let document = try #require(destination.documents.last)
        #expect(document.sections.first?.columns == ["Key", "Story points", "customfield_10099 (unavailable)"])
        #expect(document.sections.first?.rows.first?.dropFirst().first == .text("2.5"))
        #expect(jira.fieldListReads == 1, "the list is kept between runs (a field it lacks is asked for again later)")
    }

    @Test func withoutTheSitesFieldListTheRunStillWritesItsPage() async throws {
        let vault = TestVault.make()
        var report = Self.report
        report.columns = #"["key","customfield_10016"]"#
        let stores = InMemoryRunReportStores(report: report, installation: Self.installation)
        let destination = RecordingDestination()
        let jira = InMemoryJira(
            issues: [["id": "1", "key": "BUG-1", "fields": ["customfield_10016": 3]]], fields: nil)
        let result = try await Self.handler(stores, destination, jira: jira, vault: vault)
            .handle(try Self.forwardedJob(stores, vault))
        #expect(destination.documents.first?.sections.first?.columns == ["Key", "customfield_10016"])
        #expect(RunOutcome(result)?.issueCount == 1)
    }
}
