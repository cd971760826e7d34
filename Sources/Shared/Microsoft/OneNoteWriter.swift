public import Foundation
public import Rendering
public import Reports
public import Security
import Synchronization
import Tracing
public import Transport
import Upstream

/// Writes a rendered report into OneNote (docs/microsoft-apis.md §2.3–§2.6, §4): creates the page on the first
/// run, then updates it in place — the header paragraph and report tables are replaced by their
/// generated ids, found through `data-id` in `GET …/content?includeIDs=true` — and recreates it when the
/// user deleted it. Every request stays under the 4 MB limit: extra report parts are separate requests.
/// A 429 (which OneNote sends without `Retry-After`) is retried with exponential backoff and jitter.
///
/// Exactly one page per report (docs/page-identity.md): the caller is told the page id the
/// moment it is known (`WriteHooks.pageKnown`), before any append; a create whose answer was lost is
/// found again by the report's marker and reused, extra copies deleted; every write is preceded by
/// `WriteHooks.beforeWrite` (the job's lease check); a 404/20102 on a page created less than
/// `consistencyWindow` ago is OneNote's eventual consistency and is retried with backoff.
public struct OneNoteWriter: Sendable {
    /// The caller's part in a write: the lease check and the bookkeeping that must happen at once.
    public struct WriteHooks: Sendable {
        /// Before every write request (create, PATCH, delete); throws when the job lost its lease.
        public var beforeWrite: @Sendable () async throws -> Void
        /// Just before a create is sent: from here on its outcome may become unknown.
        public var willCreate: @Sendable () async throws -> Void
        /// The create announced by `willCreate` was never sent: the user's OneNote budget refused it
        /// before it left, so no page can exist and nothing needs finding by its marker.
        public var createNotSent: @Sendable () async throws -> Void
        /// The page id is known (created, or found by its marker): store it now, before any append.
        public var pageKnown: @Sendable (WrittenPage) async throws -> Void
        /// A fresh access token after OneNote answered 401 (one 401 is not a lost connection;
        /// refresh once, retry once). Nil: a 401 means reconnect required at once.
        /// It is given the token that was refused.
        public var refreshAccessToken: (@Sendable (Secret) async throws -> Secret)?

        public init(
            beforeWrite: @escaping @Sendable () async throws -> Void = {},
            willCreate: @escaping @Sendable () async throws -> Void = {},
            createNotSent: @escaping @Sendable () async throws -> Void = {},
            pageKnown: @escaping @Sendable (WrittenPage) async throws -> Void = { _ in },
            refreshAccessToken: (@Sendable (Secret) async throws -> Secret)? = nil
        ) {
            self.beforeWrite = beforeWrite
            self.willCreate = willCreate
            self.createNotSent = createNotSent
            self.pageKnown = pageKnown
            self.refreshAccessToken = refreshAccessToken
        }
    }

    public let graphBaseURL: URL
    public let transport: any HTTPTransport
    public var maxThrottleRetries = 5
    public var throttleBase: Duration = .seconds(2)
    public var throttleCap: Duration = .seconds(300)
    /// Backoffs longer than this are not slept in place: the job goes back to the queue, due after
    /// the backoff. nil: always back off in place.
    public var maxInlineWait: Duration? = .seconds(5)
    /// A page just created or moved may answer 404 for a moment (eventual consistency): look twice.
    public var missingGrace: Duration = .seconds(2)
    /// How long after its create a page's 404/20102 is taken for eventual consistency, not deletion
    /// (docs/page-identity.md: "retry with backoff during the first ~30–60 s").
    public var consistencyWindow: Duration = .seconds(60)
    /// First pause of the consistency retries; it doubles up to `consistencyBackoffCap`.
    public var consistencyBackoff: Duration = .milliseconds(250)
    public var consistencyBackoffCap: Duration = .seconds(5)
    /// At most this many recently created pages of the section are read when looking for a marker.
    public var maxMarkerCandidates = 20
    /// The shared per-user budget every request of this writer draws from, if any.
    public var budget: (limiter: any OneNoteBudget, user: String)?
    let sleep: @Sendable (Duration) async throws -> Void
    let now: @Sendable () -> Date

    /// This writer, drawing every request from `user`'s budget shared by all workers.
    public func limited(by limiter: any OneNoteBudget, user: String) -> OneNoteWriter {
        var copy = self
        copy.budget = (limiter, user)
        return copy
    }

    public init(
        graphBaseURL: URL, transport: any HTTPTransport,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.graphBaseURL = graphBaseURL
        self.transport = transport
        self.sleep = sleep
        self.now = now
    }

    /// What is written: a page rendered already, or a document rendered once the page's notes are
    /// read (an update reads the page first anyway; a create has none).
    public struct PageContent: Sendable {
        /// Whether the page's notes are read before it is rendered (a report with a Notes column):
        /// reading a large page costs time, so a report without notes skips it.
        let readsNotes: Bool
        let render: @Sendable (PageNotes) -> OneNotePageRenderer.Output

        public static func rendered(_ output: OneNotePageRenderer.Output) -> PageContent {
            PageContent(readsNotes: false) { _ in output }
        }

        public static func document(_ document: ReportDocument, renderer: OneNotePageRenderer) -> PageContent {
            PageContent(readsNotes: document.notesColumn) { notes in
                withSpan("render") { _ in renderer.render(document, notes: notes) }
            }
        }

        /// The page rendered with the notes of `html`, the page as just read.
        func render(after html: String) -> OneNotePageRenderer.Output {
            render(readsNotes ? PageNotes.read(html) : PageNotes())
        }
    }

    /// Writes without a report behind it (no marker recovery, no bookkeeping): tests and tools.
    public func write(
        _ output: OneNotePageRenderer.Output, sectionId: String, existingPageId: String?, accessToken: Secret
    )
        async throws -> WrittenPage
    {
        try await write(
            .rendered(output), sectionId: sectionId, reportId: nil, page: ReportPage(id: existingPageId),
            accessToken: accessToken, hooks: WriteHooks())
    }

    public func write(
        _ output: OneNotePageRenderer.Output, sectionId: String, reportId: String?, page: ReportPage,
        accessToken: Secret, hooks: WriteHooks
    ) async throws -> WrittenPage {
        try await write(
            .rendered(output), sectionId: sectionId, reportId: reportId, page: page, accessToken: accessToken,
            hooks: hooks)
    }

    public func write(
        _ content: PageContent, sectionId: String, reportId: String?, page: ReportPage, accessToken: Secret,
        hooks: WriteHooks
    ) async throws -> WrittenPage {
        let writing = Writing(token: AccessTokenHolder(accessToken), hooks: hooks)
        if let pageId = page.id {
            let settling = page.createdAt.map { $0.addingTimeInterval(consistencyWindow.seconds) }
            if let html = try await currentContent(pageId, settlingUntil: settling, writing) {
                try await updateInPlace(pageId, html: html, content: content, settlingUntil: settling, writing)
                return WrittenPage(id: pageId, url: nil, created: false)
            }
        }
        if let reportId, let since = page.pendingCreateSince {
            if let found = try await recoverUnconfirmedCreate(
                sectionId: sectionId, reportId: reportId, since: since, writing)
            {
                let settling = since.addingTimeInterval(consistencyWindow.seconds)
                if let html = try await currentContent(found.id, settlingUntil: settling, writing) {
                    try await updateInPlace(found.id, html: html, content: content, settlingUntil: settling, writing)
                    return found
                }
            }
        }
        return try await create(content.render(PageNotes()), sectionId: sectionId, writing)
    }

    /// One write's token and hooks, passed down instead of repeating them in every signature.
    struct Writing: Sendable {
        let token: AccessTokenHolder
        let hooks: WriteHooks
    }

    /// The access token of one write: replaced when a 401 made us refresh it.
    final class AccessTokenHolder: Sendable {
        private let value: Mutex<Secret>
        init(_ token: Secret) { value = Mutex(token) }
        var current: Secret { value.withLock { $0 } }
        func replace(_ token: Secret) { value.withLock { $0 = token } }
    }

    /// Renders with the notes of the page as just read, then updates it in place.
    func updateInPlace(
        _ pageId: String, html: String, content: PageContent, settlingUntil: Date?, _ writing: Writing
    ) async throws {
        do {
            let output = content.render(after: html)
            try await update(pageId, html: html, output: output, settlingUntil: settlingUntil, writing)
        } catch let error as UpstreamError where error.code == "onenote_target_missing" {
            // Ids shift after every update: read again and retry once (§2.5 recipe, step 5).
            guard let fresh = try await currentContent(pageId, settlingUntil: settlingUntil, writing) else {
                throw UpstreamError(
                    kind: .transient, code: "onenote_page_vanished",
                    message: "the report page disappeared while it was being updated")
            }
            let output = content.render(after: fresh)
            try await update(pageId, html: fresh, output: output, settlingUntil: settlingUntil, writing)
        }
    }

    // MARK: Create

    private func create(_ output: OneNotePageRenderer.Output, sectionId: String, _ writing: Writing) async throws
        -> WrittenPage
    {
        let url = graphBaseURL.appendingPathComponent("v1.0/me/onenote/sections").appendingPathComponent(sectionId)
            .appendingPathComponent("pages")
        try await writing.hooks.willCreate()
        try await writing.hooks.beforeWrite()
        let response: OutboundResponse
        do {
            response = try await send(
                OutboundRequest(
                    method: "POST", url: url, headers: ["Content-Type": "text/html; charset=utf-8"],
                    body: Data(output.page.utf8), timeout: .seconds(60)),
                writing)
        } catch let refused as UpstreamError where refused.kind == .budgetSpent {
            // The budget refused before sending (after a 429 at most, which creates nothing either):
            // no page can exist, so the next attempt must not go looking for one.
            try await writing.hooks.createNotSent()
            throw refused
        }
        switch response.status {
        case 200...299:
            struct Page: Decodable {
                struct Links: Decodable {
                    struct Link: Decodable { let href: String? }
                    let oneNoteWebUrl: Link?
                }
                let id: String?
                let links: Links?
            }
            // §3.7 (COMMUNITY): a 2xx without a page id is a failure.
            guard let page = try? JSONDecoder().decode(Page.self, from: response.body), let id = page.id else {
                throw UpstreamError(
                    kind: .transient, code: "onenote_no_page",
                    message: "OneNote accepted the page but returned no page id", status: response.status)
            }
            let ref = WrittenPage(id: id, url: page.links?.oneNoteWebUrl?.href, created: true)
            // Stored before any append: a crash from here on updates this page instead of making another.
            try await writing.hooks.pageKnown(ref)
            let settling = now().addingTimeInterval(consistencyWindow.seconds)
            for table in output.appendedParts {
                try await patch(
                    id, [["target": "body", "action": "append", "content": table]], settlingUntil: settling, writing)
            }
            return ref
        case 404:
            throw UpstreamError(
                kind: .rejected, code: "section_not_found",
                message: "the OneNote section no longer exists; choose another section for this report", status: 404)
        case 507:
            throw UpstreamError(
                kind: .rejected, code: "section_full",
                message: "the OneNote section has reached its page limit; choose another section", status: 507)
        default:
            throw Self.failure(response)
        }
    }

    // MARK: Sending, throttling, errors

    /// Sends one request with the write's token. A 401 refreshes the token once and sends again; a
    /// second 401 in a row is returned (the caller's `failure` makes it reconnect required).
    func send(_ request: OutboundRequest, _ writing: Writing) async throws -> OutboundResponse {
        let first = try await sendThrottled(request, accessToken: writing.token.current)
        guard first.status == 401, let refresh = writing.hooks.refreshAccessToken else { return first }
        let fresh = try await refresh(writing.token.current)
        writing.token.replace(fresh)
        return try await sendThrottled(request, accessToken: fresh)
    }

    private func sendThrottled(_ request: OutboundRequest, accessToken: Secret) async throws -> OutboundResponse {
        var request = request
        request.headers["Authorization"] = "Bearer \(accessToken.revealed)"
        request.headers["Accept"] = request.headers["Accept"] ?? "application/json"
        var delay = throttleBase
        for attempt in 0...maxThrottleRetries {
            let response: OutboundResponse
            let span = UpstreamSpan("graph", request, attempt: attempt + 1)
            do {
                let request = request
                if let budget {
                    response = try await budget.limiter.withSlot(user: budget.user) {
                        try await span.send(request, over: transport)
                    }
                } else {
                    response = try await span.send(request, over: transport)
                }
            } catch let error as HTTPTransportError {
                throw UpstreamError(kind: .transient, code: "onenote_unreachable", message: error.message)
            }
            guard response.status == 429 else {
                span.end()
                return response
            }
            // §4.2: no Retry-After on OneNote's 429; back off exponentially with jitter.
            let pause = delay * Double.random(in: 0.8...1.2)
            span.throttled(wait: pause)
            guard attempt < maxThrottleRetries, maxInlineWait.map({ pause <= $0 }) ?? true else {
                throw UpstreamError(
                    kind: .transient, code: "onenote_throttled",
                    message: "OneNote is throttling this user (\(Self.errorCode(response.body) ?? "429"))",
                    status: 429, retryAfter: pause)
            }
            try await sleep(pause)
            delay = min(delay * 2, throttleCap)
        }
        throw UpstreamError(kind: .transient, code: "onenote_throttled", message: "OneNote is throttling this user")
    }

    static func errorCode(_ body: Data) -> String? {
        struct Body: Decodable {
            struct Inner: Decodable { let code: String? }
            let error: Inner?
        }
        return (try? JSONDecoder().decode(Body.self, from: body))?.error?.code
    }

    static func failure(_ response: OutboundResponse) -> UpstreamError {
        if response.status == 413 {
            // §3.7: over Graph's request size; the renderer's parts should prevent it.
            return UpstreamError(
                kind: .rejected, code: "onenote_too_large", message: "the page request was too large for OneNote",
                status: 413)
        }
        return UpstreamError.classify(
            response, service: .onenote, detail: errorCode(response.body) ?? "HTTP \(response.status)")
    }
}
