import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import QueueTesting
import Synchronization
import TestSupport
import Testing

@testable import Atlassian
@testable import Microsoft
@testable import Rendering
@testable import Reports
@testable import SQLiteBackend
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// The product's OneNote writer against the sandbox over real loopback HTTP; waits are recorded, not slept.
@Suite("OneNote writer against the sandbox")
struct OneNoteWriterTests {
    static let section = SandboxOneNoteTests.section

    static func withSandbox(
        consistencyDelay: Duration = .zero, _ body: @Sendable (URL, Secret, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await SandboxOneNoteTests.withSandbox(consistencyDelay: consistencyDelay) { client, auth in
            let token = Secret(String(auth[.authorization]!.dropFirst(7)))
            try await body(URL(string: "http://127.0.0.1:\(client.port!)")!, token, client)
        }
    }

    static func output(_ keys: [String], maxPartBytes: Int = 3_500_000, name: String = "Weekly")
        -> OneNotePageRenderer.Output
    {
        let issues = keys.map { JiraIssue(id: $0, key: $0, fields: ["summary": .string("Summary of \($0) <b>&</b>")]) }
        return OneNotePageRenderer(maxPartBytes: maxPartBytes).render(
            ReportDocument(
                reportName: name, jql: "project = OPS", columns: ["key", "summary"], issues: issues, runAt: Date(),
                timeZone: TimeZone(identifier: "UTC")!,
                siteURL: URL(string: "https://example.atlassian.net")))
    }

    static func pages(_ client: any TestClientProtocol) async throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(
            with: Data(try await client.execute(uri: "/sandbox/pages", method: .get).text.utf8)) as? [[String: Any]]
            ?? []
    }

    final class Sleeps: Sendable {
        private let recorded = Mutex<[Duration]>([])
        var all: [Duration] { recorded.withLock { $0 } }
        func record(_ duration: Duration) { recorded.withLock { $0.append(duration) } }
    }

    @Test func createsThenUpdatesInPlaceThenRecreatesWhenDeleted() async throws {
        try await Self.withSandbox { base, token, client in
            let sleeps = Sleeps()
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { sleeps.record($0) })
            let first = try await writer.write(
                Self.output(["OPS-1", "OPS-2"]), sectionId: Self.section, existingPageId: nil, accessToken: token)
            #expect(first.created && first.url != nil)
            var pages = try await Self.pages(client)
            #expect(pages.count == 1 && (pages[0]["html"] as? String)?.contains("OPS-2") == true)

            let second = try await writer.write(
                Self.output(["OPS-3"], name: "Renamed"), sectionId: Self.section, existingPageId: first.id,
                accessToken: token)
            #expect(!second.created && second.id == first.id, "the same page, updated in place")
            pages = try await Self.pages(client)
            let html = try #require(pages.first?["html"] as? String)
            #expect(pages.count == 1 && html.contains("OPS-3") && !html.contains("OPS-1"))
            #expect(
                html.components(separatedBy: "data-id=\"report-header\"").count == 2, "one header paragraph, replaced")
            #expect(pages.first?["title"] as? String == "Renamed – Jira report")
            #expect(
                html.contains("Summary of OPS-3 &lt;b&gt;&amp;&lt;/b&gt;"), "escaped in the page as the user sees it")

            // The user deletes the page: the next run makes a new one (after one grace look).
            #expect(
                try await client.execute(
                    uri: "/v1.0/me/onenote/pages/\(first.id)", method: .delete,
                    headers: [.authorization: "Bearer \(token.revealed)"]
                ).status == .noContent)
            let third = try await writer.write(
                Self.output(["OPS-4"]), sectionId: Self.section, existingPageId: first.id, accessToken: token)
            #expect(third.created && third.id != first.id)
            #expect(sleeps.all == [writer.missingGrace])

            let missing = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-5"]), sectionId: "1-gone!1", existingPageId: nil, accessToken: token)
            }
            #expect(missing?.code == "section_not_found" && missing?.kind == .rejected)
            let expired = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-5"]), sectionId: Self.section, existingPageId: nil, accessToken: Secret("bogus"))
            }
            #expect(expired?.kind == .reconnectRequired)
        }
    }

    @Test func largeReportsAreWrittenInPartsAndShrinkCleanly() async throws {
        try await Self.withSandbox { base, token, client in
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { _ in })
            let many = (1...400).map { "OPS-\($0)" }
            let big = Self.output(many, maxPartBytes: 20_000)
            #expect(big.appendedParts.count >= 2)
            let page = try await writer.write(big, sectionId: Self.section, existingPageId: nil, accessToken: token)
            var html = try #require(try await Self.pages(client).first?["html"] as? String)
            #expect(many.allSatisfy { html.contains(">\($0)</a>") })
            #expect(html.components(separatedBy: ">OPS-400</a>").count == 2)

            // Smaller next time: one table; the old extra parts are emptied, nothing is duplicated.
            _ = try await writer.write(
                Self.output(["OPS-1", "OPS-2"], maxPartBytes: 20_000), sectionId: Self.section, existingPageId: page.id,
                accessToken: token)
            html = try #require(try await Self.pages(client).first?["html"] as? String)
            #expect(html.contains(">OPS-2</a>") && !html.contains(">OPS-3</a>") && !html.contains(">OPS-400</a>"))

            // And larger again: parts reappear, each once.
            _ = try await writer.write(big, sectionId: Self.section, existingPageId: page.id, accessToken: token)
            html = try #require(try await Self.pages(client).first?["html"] as? String)
            #expect(
                html.components(separatedBy: ">OPS-400</a>").count == 2
                    && html.components(separatedBy: ">OPS-1</a>").count == 2)
        }
    }

    @Test func a429StormIsRiddenOutWithBackoff() async throws {
        try await Self.withSandbox { base, token, client in
            let sleeps = Sleeps()
            var writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { sleeps.record($0) })
            writer.maxInlineWait = nil
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/sections/","status":429,"count":3}"#))
            let page = try await writer.write(
                Self.output(["OPS-1"]), sectionId: Self.section, existingPageId: nil, accessToken: token)
            #expect(page.created)
            let waits = sleeps.all.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
            #expect(waits.count == 3)
            #expect(
                waits[0] >= 1.6 && waits[0] <= 2.4 && waits[1] >= 3.2 && waits[1] <= 4.8 && waits[2] >= 6.4
                    && waits[2] <= 9.6, "\(waits)")
        }
    }

    @Test func aCreateTheBudgetRefusedBeforeSendingLeavesNothingToLookFor() async throws {
        try await Self.withSandbox { base, token, client in
            let fixture = try QueueFixture(realClock: true)
            defer { fixture.remove() }
            let limiter = OneNoteRateLimiter(
                storage: SQLiteOneNoteBudgetStorage(database: fixture.database), perMinute: 1)
            _ = try await limiter.withSlot(user: "u") { 0 }  // the minute is spent
            let writer = OneNoteWriter(graphBaseURL: base, transport: CurlTransport(policy: .sandbox)).limited(
                by: limiter, user: "u")
            let events = Mutex<[String]>([])
            let hooks = OneNoteWriter.WriteHooks(
                willCreate: { events.withLock { $0.append("willCreate") } },
                createNotSent: { events.withLock { $0.append("createNotSent") } })
            let error = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-1"]), sectionId: Self.section, reportId: "r1", page: .init(id: nil),
                    accessToken: token, hooks: hooks)
            }
            #expect(error?.code == "onenote_budget_exhausted" && error?.kind == .budgetSpent)
            #expect(
                events.withLock { $0 } == ["willCreate", "createNotSent"],
                "a create never sent is not left pending (its next attempt would search for it)")
            let counters = try await client.execute(uri: "/sandbox/counters", method: .get).json
            #expect(counters["onenote-create-page"] == nil, "nothing reached OneNote")
        }
    }

    @Test func aBackoffLongerThanTheInlineLimitGoesBackToTheQueueInsteadOfSleepingInTheSlot() async throws {
        try await Self.withSandbox { base, token, client in
            let sleeps = Sleeps()
            // The default: at most 5 s in place (2 s, then 4 s); the third backoff (~8 s) is the queue's.
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { sleeps.record($0) })
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/sections/","status":429,"count":3}"#))
            let error = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-1"]), sectionId: Self.section, existingPageId: nil, accessToken: token)
            }
            #expect(error?.code == "onenote_throttled" && error?.kind == .transient)
            #expect(sleeps.all.allSatisfy { $0 <= .seconds(5) } && sleeps.all.count <= 2, "\(sleeps.all)")
            let retryAfter = try #require(error?.retryAfter)
            #expect(retryAfter > .seconds(5), "the job is due again after the backoff it did not sleep: \(retryAfter)")
        }
    }
}
