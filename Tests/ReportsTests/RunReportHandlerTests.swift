import Atlassian
import Foundation
import JobQueue
import Logging
import ReportsTestDoubles
import Testing
import Transport
import Upstream

@testable import Reports

/// The run handler against in-memory stores and a recording destination, in milliseconds: the order
/// it asks the destination, the claim and Jira in, and what the run's row is told. The OneNote
/// destination and both backends run the same path end to end in `PipelineTests`.
@Suite("Run report handler")
struct RunReportHandlerTests {
    static let installation = Installation(
        id: "i1", cloudId: "cloud-1", apiBaseUrl: URL(string: "http://127.0.0.1:1/ex/jira/cloud-1")!, siteUrl: nil)
    static let report = Report(
        id: "r1", installationId: "i1", ownerAccountId: "a1", name: "Open bugs", jql: "type = Bug",
        columns: "key,summary", location: "0-section", enabled: true, createdAt: 0, updatedAt: 0)

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

    static func job(attempt: Int = 1) throws -> JobContext {
        let payload = try JSONEncoder().encode(
            RunReportJob(runId: "run-1", reportId: "r1", installationId: "i1", ownerAccountId: "a1"))
        return JobContext(
            id: 1, kind: RunReportJob.kind, payload: payload, attempt: attempt, maxAttempts: 5, workerId: "test",
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func aSpentBudgetAtTheDestinationDefersTheJobBeforeItsClaim() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let spent = JobDeferral("budget_spent", delay: .seconds(60), holdsKey: true)
        let destination = RecordingDestination(refusing: [.open: spent])
        await #expect(throws: spent) { try await Self.handler(stores, destination).handle(try Self.job()) }
        #expect(stores.events.isEmpty, "the report is not claimed and the run not touched")
        #expect(destination.steps == [.open])
    }

    @Test func aReportHeldByAnotherJobWaitsItsTurnWithoutAWrite() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        stores.holdClaim()
        let destination = RecordingDestination()
        let deferral = await #expect(throws: JobDeferral.self) {
            try await Self.handler(stores, destination).handle(try Self.job())
        }
        #expect(deferral?.code == "report_run_in_progress" && deferral?.holdsKey == false)
        #expect(stores.events.isEmpty && destination.steps == [.open])
    }

    @Test func anOwnerWhoCannotWriteFailsTheRunBeforeJiraIsRead() async throws {
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let reconnect = UpstreamError(
            kind: .reconnectRequired, code: "reconnect_required", message: "the connection was revoked")
        let destination = RecordingDestination(refusing: [.open: reconnect])
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination).handle(try Self.job())
        }
        #expect(failure?.code == "reconnect_required" && failure?.isRetryable == false)
        #expect(stores.events == [.claimed, .failed(code: "reconnect_required", final: true)])
        #expect(destination.steps == [.open], "no document was written")
    }

    @Test func withoutAWayIntoJiraTheRunFailsForGoodAndNothingIsWritten() async throws {
        // No forwarded user token and no system token for the site: no offline token can be minted.
        let stores = InMemoryRunReportStores(report: Self.report, installation: Self.installation)
        let destination = RecordingDestination()
        let failure = await #expect(throws: JobFailure.self) {
            try await Self.handler(stores, destination).handle(try Self.job(attempt: 2))
        }
        #expect(failure?.code == "no_system_token")
        #expect(stores.events == [.claimed, .failed(code: "no_system_token", final: true)])
        #expect(destination.steps == [.open])
    }
}
