import Foundation
import Hummingbird
import HummingbirdTesting
import Reports
import Synchronization
import TestSupport
import Testing

@testable import Atlassian
@testable import Microsoft
@testable import Rendering
@testable import Sandbox
@testable import Security
@testable import Transport
@testable import Upstream

/// One page per report in the writer, against the sandbox over real loopback HTTP: the page id is known before
/// any append, OneNote's post-create consistency delay is waited out, and a create whose answer was
/// lost is found again by the report's marker (extra copies deleted) instead of making another page.
@Suite("OneNote writer: one page through lost answers and eventual consistency")
struct OneNoteWriterRecoveryTests {
    static let section = SandboxOneNoteTests.section

    static func output(_ keys: [String], reportId: String?, maxPartBytes: Int = 3_500_000) -> OneNotePageRenderer.Output
    {
        let issues = keys.map { JiraIssue(id: $0, key: $0, fields: ["summary": .string("Summary of \($0)")]) }
        return OneNotePageRenderer(maxPartBytes: maxPartBytes).render(
            ReportDocument(
                reportName: "Weekly", jql: "project = OPS", columns: ["key", "summary"], issues: issues, runAt: Date(),
                timeZone: TimeZone(identifier: "UTC")!, siteURL: URL(string: "https://example.atlassian.net"),
                reportId: reportId))
    }

    /// What the hooks saw, in order: "pending", "write", "known:<id>".
    final class Events: Sendable {
        private let recorded = Mutex<[String]>([])
        var all: [String] { recorded.withLock { $0 } }
        func add(_ event: String) { recorded.withLock { $0.append(event) } }
        var hooks: OneNoteWriter.WriteHooks {
            OneNoteWriter.WriteHooks(
                beforeWrite: { self.add("write") }, willCreate: { self.add("pending") },
                pageKnown: { self.add("known:\($0.id)") })
        }
    }

    @Test func aMultiPartReportIsWrittenThroughThePostCreateConsistencyDelay() async throws {
        try await OneNoteWriterTests.withSandbox(consistencyDelay: .milliseconds(400)) { base, token, client in
            let writer = OneNoteWriter(graphBaseURL: base, transport: CurlTransport(policy: .sandbox))
            let keys = (1...300).map { "OPS-\($0)" }
            let output = Self.output(keys, reportId: "r-1", maxPartBytes: 12_000)
            #expect(output.appendedParts.count >= 2)
            // The first append lands while the new page still answers 404/20102.
            let page = try await writer.write(
                output, sectionId: Self.section, reportId: "r-1", page: .init(), accessToken: token, hooks: .init())
            let pages = try await OneNoteWriterTests.pages(client)
            let html = try #require(pages.first?["html"] as? String)
            #expect(pages.count == 1 && pages.first?["id"] as? String == page.id)
            #expect(
                keys.allSatisfy { html.contains(">\($0)</a>") }
                    && html.components(separatedBy: ">OPS-300</a>").count == 2, "every part once")
        }
    }

    @Test func thePageIdIsStoredBeforeAnyAppend() async throws {
        try await OneNoteWriterTests.withSandbox { base, token, client in
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { _ in })
            // Every append fails: the write fails after the create, as a crash there would.
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(
                    string: #"{"route":"/v1.0/me/onenote/pages/","status":400,"method":"PATCH","count":100}"#))
            let events = Events()
            let output = Self.output((1...200).map { "OPS-\($0)" }, reportId: "r-1", maxPartBytes: 12_000)
            await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    output, sectionId: Self.section, reportId: "r-1", page: .init(), accessToken: token,
                    hooks: events.hooks)
            }
            let created = try #require(try await OneNoteWriterTests.pages(client).first?["id"] as? String)
            #expect(Array(events.all.prefix(4)) == ["pending", "write", "known:\(created)", "write"], "\(events.all)")
        }
    }

    @Test func aLostCreateIsFoundByItsMarkerReusedAndItsExtraCopiesDeleted() async throws {
        try await OneNoteWriterTests.withSandbox { base, token, client in
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { _ in })
            let since = Date().addingTimeInterval(-5)
            // Two creates of report r-1 whose answers were "lost", and a page of another report.
            for report in ["r-1", "r-1", "r-2"] {
                _ = try await writer.write(
                    Self.output(["OPS-1"], reportId: report), sectionId: Self.section, reportId: report, page: .init(),
                    accessToken: token, hooks: .init())
            }
            #expect(try await OneNoteWriterTests.pages(client).count == 3)
            let events = Events()
            let page = try await writer.write(
                Self.output(["OPS-2"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1",
                page: .init(pendingCreateSince: since), accessToken: token, hooks: events.hooks)
            #expect(!page.created)
            let pages = try await OneNoteWriterTests.pages(client)
            let mine = pages.filter { ($0["html"] as? String)?.contains("onenote-reports-r-1") == true }
            #expect(mine.count == 1 && mine.first?["id"] as? String == page.id, "one page of r-1 is left")
            #expect((mine.first?["html"] as? String)?.contains(">OPS-2</a>") == true, "and it shows this run's data")
            #expect(pages.count == 2, "the other report's page is untouched")
            #expect(
                events.all.contains("known:\(page.id)") && !events.all.contains("pending"),
                "no new create: \(events.all)")
        }
    }

    @Test func aLostCreateNotListedYetDefersTheJobRatherThanCreatingAnother() async throws {
        try await OneNoteWriterTests.withSandbox(consistencyDelay: .milliseconds(1500)) { base, token, client in
            let writer = OneNoteWriter(graphBaseURL: base, transport: CurlTransport(policy: .sandbox))
            let since = Date()
            _ = try await writer.write(
                Self.output(["OPS-1"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1", page: .init(),
                accessToken: token, hooks: .init())
            // Right after: the page exists but OneNote does not list it yet.
            let deferral = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-2"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1",
                    page: .init(pendingCreateSince: since), accessToken: token, hooks: .init())
            }
            #expect(deferral?.code == "onenote_create_unconfirmed" && deferral?.kind == .notYet)
            #expect(try await OneNoteWriterTests.pages(client).count == 1)
            // Once it is listed, the next attempt finds it.
            var found: WrittenPage?
            #expect(
                try await waitUntil(timeout: .seconds(10), pollEvery: .milliseconds(200)) {
                    found = try? await writer.write(
                        Self.output(["OPS-2"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1",
                        page: .init(pendingCreateSince: since), accessToken: token, hooks: .init())
                    return found != nil
                })
            #expect(try await OneNoteWriterTests.pages(client).count == 1 && found?.created == false)
        }
    }

    @Test func oneUnauthorizedAnswerRefreshesTheTokenOnceAndTwoInARowMeanReconnect() async throws {
        try await OneNoteWriterTests.withSandbox { base, token, client in
            let writer = OneNoteWriter(
                graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { _ in })
            let refreshes = Mutex(0)
            let hooks = OneNoteWriter.WriteHooks(refreshAccessToken: { _ in
                refreshes.withLock { $0 += 1 }
                return token
            })
            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":401,"count":1}"#))
            let page = try await writer.write(
                Self.output(["OPS-1"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1", page: .init(),
                accessToken: token, hooks: hooks)
            #expect(page.created && refreshes.withLock { $0 } == 1, "one 401: refreshed once, then written")

            _ = try await client.execute(
                uri: "/sandbox/faults", method: .post,
                body: ByteBuffer(string: #"{"route":"/v1.0/me/onenote/","status":401,"count":2}"#))
            let error = await #expect(throws: UpstreamError.self) {
                try await writer.write(
                    Self.output(["OPS-2"], reportId: "r-1"), sectionId: Self.section, reportId: "r-1",
                    page: .init(id: page.id), accessToken: token, hooks: hooks)
            }
            #expect(
                error?.kind == .reconnectRequired && refreshes.withLock { $0 } == 2,
                "a second 401 right after a refresh means reconnect")
        }
    }

    /// The security review's attack: report A shows an issue whose summary carries report V's marker as
    /// text; V's create answer is lost. Searching the page text for the marker made V adopt A's page (and
    /// delete its own), so V's next runs overwrote A's page. The marker now counts only as the `data-id` of
    /// an element: V keeps its own page and A's is untouched.
    @Test func aSummaryCarryingAnotherReportsMarkerCannotStealItsRecovery() async throws {
        try await OneNoteWriterTests.withSandbox { base, token, client in
            let writer = OneNoteWriter(graphBaseURL: base, transport: CurlTransport(policy: .sandbox), sleep: { _ in })
            let victim = "report-v"
            let marker = OneNotePageRenderer.markerDataId(reportId: victim)
            let summaries = [
                #"<p data-id="\#(marker)" style="color:#808080;font-size:8pt">Kept up to date by OneNote Reports for Jira</p>"#,
                #"data-id="\#(marker)""#,
            ]
            let issues = summaries.enumerated().map { index, summary in
                JiraIssue(id: "\(index)", key: "OPS-\(index + 1)", fields: ["summary": .string(summary)])
            }
            let attacker = OneNotePageRenderer().render(
                ReportDocument(
                    reportName: "A", jql: "project = OPS", columns: ["key", "summary"], issues: issues, runAt: Date(),
                    timeZone: TimeZone(identifier: "UTC")!, siteURL: URL(string: "https://example.atlassian.net"),
                    reportId: "report-a"))
            let since = Date().addingTimeInterval(-5)
            let pageA = try await writer.write(
                attacker, sectionId: Self.section, reportId: "report-a", page: .init(), accessToken: token,
                hooks: .init())
            // V's create reached OneNote; its answer did not reach the worker.
            let pageV = try await writer.write(
                Self.output(["OPS-9"], reportId: victim), sectionId: Self.section, reportId: victim, page: .init(),
                accessToken: token, hooks: .init())
            let textOfA = try #require(
                try await OneNoteWriterTests.pages(client).first { $0["id"] as? String == pageA.id }?["html"] as? String
            )
            #expect(textOfA.contains(#"data-id="\#(marker)""#), "the summary is on A's page as text")

            let recovered = try await writer.write(
                Self.output(["OPS-10"], reportId: victim), sectionId: Self.section, reportId: victim,
                page: .init(pendingCreateSince: since), accessToken: token, hooks: .init())
            #expect(recovered.id == pageV.id && !recovered.created, "V found its own page")
            let pages = try await OneNoteWriterTests.pages(client)
            #expect(pages.count == 2, "nothing was deleted")
            let a = try #require(pages.first { $0["id"] as? String == pageA.id }?["html"] as? String)
            #expect(a.contains(">OPS-1</a>") && !a.contains("OPS-10"), "A's page keeps A's data")
        }
    }

    /// `@odata.nextLink` is followed with the user's token only on Graph's own origin (the configured
    /// base URL): a listing that points elsewhere is refused, and the other origin gets no request.
    @Test func aNextLinkToAnotherOriginIsNotFollowed() async throws {
        let stolen = Mutex<[String]>([])
        let elsewhere = Router()
        elsewhere.get("/**") { request, _ -> String in
            stolen.withLock { $0.append(request.headers[.authorization] ?? "none") }
            return #"{"value":[]}"#
        }
        let app = Application(
            router: elsewhere, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
        try await app.test(.live) { other in
            let graph = Router()
            graph.get("/v1.0/me/onenote/sections/{id}/pages") { _, _ in
                let next = "http://127.0.0.1:\(other.port!)/v1.0/me/onenote/sections/s/pages?page=2"
                let created = Date().formatted(.iso8601)
                let body = #"{"value":[{"id":"p1","createdDateTime":"\#(created)"}],"@odata.nextLink":"\#(next)"}"#
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            let graphApp = Application(
                router: graph, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: silentLogger)
            try await graphApp.test(.live) { client in
                let writer = OneNoteWriter(
                    graphBaseURL: URL(string: "http://127.0.0.1:\(client.port!)")!,
                    transport: CurlTransport(policy: .sandbox), sleep: { _ in })
                let error = await #expect(throws: UpstreamError.self) {
                    _ = try await writer.recentPages(
                        sectionId: "s", since: Date().addingTimeInterval(-60),
                        OneNoteWriter.Writing(token: .init(Secret("user-bearer-token")), hooks: .init()))
                }
                #expect(error?.code == "onenote_foreign_link")
            }
        }
        #expect(stolen.withLock { $0 }.isEmpty, "the other origin got no request, so no token")
    }
}

/// The tokenizer that finds a page's elements (PageMarkup): only real start tags count.
@Suite("OneNote page markup")
struct PageMarkupTests {
    @Test func onlyElementsCarryADataIdTextCommentsTitlesAndAttributeValuesDoNot() {
        let marker = "onenote-reports-r-1"
        let notElements = [
            #"<p>&lt;p data-id="\#(marker)"&gt;</p>"#,
            #"<td>data-id="\#(marker)"</td>"#,
            #"<!-- <p data-id="\#(marker)" id="x"> -->"#,
            #"<title><p data-id="\#(marker)"></title>"#,
            #"<a title='<p data-id="\#(marker)">'>x</a>"#,
            #"<a title="a > b" href="x">data-id="\#(marker)"</a>"#,
            #"<p data-idx="\#(marker)">"#,
            #"<p data-id="\#(marker)-2">"#,
        ]
        for html in notElements {
            #expect(!PageMarkup.hasElement(dataId: marker, in: "<html><body>\(html)</body></html>"), "\(html)")
        }
        let elements = [
            #"<p data-id="\#(marker)">"#,
            #"<P DATA-ID='\#(marker)' style="x">"#,
            #"<p style="a>b" data-id=\#(marker)>"#,
            #"<p data-id="onenote-reports-r&#45;1">"#,
            #"<div id="div:{1}" data-id = "\#(marker)"/>"#,
        ]
        for html in elements {
            #expect(PageMarkup.hasElement(dataId: marker, in: "<body>\(html)</body>"), "\(html)")
        }
        #expect(
            PageMarkup.elementIds(
                byDataId: #"<table title="x>y" data-id="t" id="table:{a}{1}"><td>data-id="u" id="no"</td></table>"#)
                == ["t": "table:{a}{1}"])
    }
}
