public import Foundation
public import JobQueue
public import Rendering

/// Where a report is written: a destination keeps one page per report up to date (the first lives in
/// the Microsoft module). The run handler knows only this protocol: it
/// opens the destination once before claiming the report (is the owner's budget there spent? can the
/// owner write at all?) and, after reading Jira, writes the document once.
///
/// The contract every destination keeps (docs/page-identity.md):
/// - one current page per report: the page's id is handed to `RunPageRecorder.pageKnown` the moment
///   it is known, before any further write, and a create whose answer was lost is found again on the
///   next attempt from `ReportPage.pendingCreateSince` instead of making a second page;
/// - every write request is preceded by the job's lease check, so a worker that lost its lease writes
///   nothing;
/// - a wait the destination knows the length of (its budget spent) is a `JobDeferral`, which sends the
///   job back to the queue without using an attempt, as does an `UpstreamError` of kind `.notYet`;
///   `.reconnectRequired` fails the run until the owner connects again; other `UpstreamError`s are
///   retried or not by their kind.
public protocol ReportDestination: Sendable {
    /// Before Jira is read: the owner's side of the destination for this job, ready to
    /// write. Throws a `JobDeferral` when the owner's budget there is spent, so the job waits in the
    /// queue, with the owner's other due jobs, instead of reading Jira for a page that cannot be
    /// written; throws an `UpstreamError` when nothing can be written for the owner (never connected,
    /// must connect again), so a user without a connection cannot make workers page through a search.
    func open(for owner: ReportOwner, job: JobContext) async throws -> any DestinationWrite
}

/// One job's writes at a destination, opened by `ReportDestination.open`.
public protocol DestinationWrite: Sendable {
    /// Writes `document` as the report's page: updates `page` in place, recovers a lost create, or
    /// creates it, telling `recorder` about the page as it goes.
    func write(_ document: ReportDocument, report: Report, page: ReportPage, recorder: any RunPageRecorder)
        async throws -> WrittenPage
}

/// What the report's row knows about its page at the destination.
public struct ReportPage: Sendable, Equatable {
    /// The page's id at the destination, once known.
    public var id: String?
    /// When the stored page was created (a destination may answer "not found" for a moment after).
    public var createdAt: Date?
    /// Set while a create of this report may have succeeded unseen (its answer was lost).
    public var pendingCreateSince: Date?

    public init(id: String? = nil, createdAt: Date? = nil, pendingCreateSince: Date? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.pendingCreateSince = pendingCreateSince
    }
}

/// The page a write ended on.
public struct WrittenPage: Sendable, Equatable {
    public let id: String
    /// Where a person opens it, when the destination said (updates in place do not say).
    public let url: String?
    /// True when the page was created (first run, or the old one was gone).
    public let created: Bool

    public init(id: String, url: String?, created: Bool) {
        self.id = id
        self.url = url
        self.created = created
    }
}

/// The run's bookkeeping a destination does while it writes; each call is refused (`LeaseLostError`)
/// once the job's lease is lost.
public protocol RunPageRecorder: Sendable {
    /// A page create is about to be sent (a lost answer is then looked for on the next attempt).
    func createPending() async throws
    /// The create was never sent: nothing to look for.
    func createNotSent() async throws
    /// The page's id is known: stored at once.
    func pageKnown(_ page: WrittenPage) async throws
}
