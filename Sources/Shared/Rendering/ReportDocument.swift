public import Foundation

/// What a report shows, before any destination's markup: a title, a header (the report's name, how
/// many issues, when, the query), and sections of tables whose cells are typed values, built from a
/// Jira search (`ReportDocument+Jira.swift`); each destination writes its own markup from it (in the
/// destination's module). Content work (summaries, groups, changes) is done here once,
/// for every destination.
public struct ReportDocument: Sendable, Equatable {
    /// One value of a table, typed by what it is rather than how a destination draws it.
    public enum Cell: Sendable, Equatable {
        case empty
        case text(String)
        /// Text that links to `url` (an issue key to the issue on its site).
        case link(String, url: String)
        /// A status name on its status category (Jira's `new`, `indeterminate`, `done`, or other).
        case status(String, category: String)
        /// Formatted text (a description, a multi-line custom field).
        case rich(RichText)
    }

    public struct Header: Sendable, Equatable {
        public var reportName: String
        public var issueCount: Int
        /// Set when more issues matched than the cap allowed.
        public var cappedAt: Int?
        public var runAt: Date
        public var timeZone: TimeZone
        public var jql: String
    }

    /// A part of the report: one table, its column labels and its rows.
    public struct Section: Sendable, Equatable {
        public var columns: [String]
        public var rows: [[Cell]]
    }

    public var title: String
    public var header: Header
    public var sections: [Section]
    /// The report's id, written into the page as its marker so a page whose create answer was lost can
    /// be found again (docs/page-identity.md); nil for a page without one.
    public var reportId: String?
}
