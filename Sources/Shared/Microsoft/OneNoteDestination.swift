public import JobQueue
import Logging
import Rendering
public import Reports
import Security
import Tracing
import Upstream

/// Reports written as OneNote pages: the first `ReportDestination`.
///
/// Per job, in `open`: the owner's Microsoft user is read once (whose OneNote budget every request of
/// the run spends), a spent budget defers the job, and an access token comes from
/// `MicrosoftTokenBroker` (one refresh at a time per connection across processes), so a run that
/// cannot write fails before Jira is read. A 401 from OneNote gets one fresh token; a second 401 marks
/// the connection `reconnect_required`. The write renders
/// the document as OneNote XHTML and hands it to `OneNoteWriter`, which keeps docs/page-identity.md:
/// lease check before each request, the page id stored at once, a lost create found by its marker.
public struct OneNoteDestination: ReportDestination {
    let connections: any MicrosoftConnections
    let tokens: MicrosoftTokenBroker
    let writer: OneNoteWriter
    let renderer: OneNotePageRenderer
    /// OneNote's per-user limits across every worker process (nil: only 429 backoff).
    let limiter: OneNoteRateLimiter?

    public init(
        connections: any MicrosoftConnections, tokens: MicrosoftTokenBroker, writer: OneNoteWriter,
        renderer: OneNotePageRenderer = OneNotePageRenderer(), limiter: OneNoteRateLimiter? = nil
    ) {
        self.connections = connections
        self.tokens = tokens
        self.writer = writer
        self.renderer = renderer
        self.limiter = limiter
    }

    public func open(for owner: ReportOwner, job: JobContext) async throws -> any DestinationWrite {
        var writer = writer
        if let limiter, let user = try await connections.connection(owner)?.microsoftUserId {
            if let wait = try await limiter.budgetWait(user: user) {
                // The user's budget is spent: back to the queue until it frees up, with every other
                // due job of the user (the fairness key is held).
                throw JobDeferral(OneNoteRateLimiter.exhaustedCode, delay: wait, holdsKey: true)
            }
            writer = writer.limited(by: limiter, user: user)
        }
        let token = try await tokens.accessToken(owner, lease: job.lease, logger: job.logger)
        return Write(destination: self, writer: writer, owner: owner, job: job, accessToken: token)
    }

    /// One job's OneNote writes.
    struct Write: DestinationWrite {
        let destination: OneNoteDestination
        let writer: OneNoteWriter
        let owner: ReportOwner
        let job: JobContext
        /// The token `open` obtained; the writer asks the broker for a fresh one after a 401.
        let accessToken: Secret

        func write(_ document: ReportDocument, report: Report, page: ReportPage, recorder: any RunPageRecorder)
            async throws -> WrittenPage
        {
            let (tokens, owner, job) = (destination.tokens, owner, job)
            let hooks = OneNoteWriter.WriteHooks(
                beforeWrite: { try await job.checkLease() },
                willCreate: { try await recorder.createPending() },
                createNotSent: { try await recorder.createNotSent() },
                pageKnown: { try await recorder.pageKnown($0) },
                // One 401 is not a lost connection: a fresh token (redeemed once for everyone), once.
                refreshAccessToken: { rejected in
                    try await tokens.accessToken(owner, rejected: rejected, lease: job.lease, logger: job.logger)
                })
            do {
                // Rendered once the page is read: the notes people typed go back beside their issues.
                return try await withSpan("page write") { span in
                    span.attributes["page.known"] = page.id != nil
                    let written = try await writer.write(
                        .document(document, renderer: destination.renderer), sectionId: report.location,
                        reportId: report.id, page: page, accessToken: accessToken, hooks: hooks)
                    span.attributes["page.created"] = written.created
                    return written
                }
            } catch let error as UpstreamError where error.kind == .reconnectRequired {
                // A second 401 in a row, with a token just refreshed: the user must connect again, and
                // /v1/me says so.
                try await destination.connections.markReconnectRequired(owner, lease: job.lease)
                throw error
            } catch let budget as UpstreamError where budget.kind == .budgetSpent {
                // Another worker spent the budget since `open`: wait for it in the queue, not here. A
                // spent budget holds the fairness key (the user's other jobs wait too); a busy slot not.
                let exhausted = budget.code == OneNoteRateLimiter.exhaustedCode
                throw JobDeferral(
                    budget.code, delay: budget.retryAfter ?? .seconds(exhausted ? 60 : 1), holdsKey: exhausted)
            }
        }
    }
}
