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

    /// A part of the report: one table, its column labels and its rows, under its group's heading
    /// when the report is grouped.
    public struct Section: Sendable, Equatable {
        public var columns: [String]
        public var rows: [[Cell]]
        /// The group these rows are (nil when the report is not grouped).
        public var group: Group?
        /// Per row, how deep it sits under a parent listed above it (0: at the top); empty when
        /// every row is at the top.
        public var levels: [Int] = []
        /// Each row's issue key (what a note typed beside the row is kept by).
        public var keys: [String] = []
        /// Per row, the columns whose value changed since the last run (empty when nothing did, or
        /// when changes are not shown).
        public var changed: [Set<Int>] = []
    }

    /// What changed since the last successful run: issues new to the report, issues that left it,
    /// status moves. `since` is nil on a report's first run (there is nothing to compare with).
    public struct Changes: Sendable, Equatable {
        public struct Move: Sendable, Equatable {
            public var key: String
            public var from: String
            public var to: String
        }
        public var since: Date?
        public var added: [String] = []
        public var removed: [String] = []
        public var moved: [Move] = []
    }

    /// A group's heading: its name, how many issues it holds and the sum of the summed field.
    public struct Group: Sendable, Equatable {
        public var name: String
        public var count: Int
        public var sum: Double?
    }

    /// What the top of the page says: how many issues, how many in each status category (in Jira's
    /// order: to do, in progress, done, then any other), and the summed field's totals.
    public struct Summary: Sendable, Equatable {
        public struct Category: Sendable, Equatable {
            /// Jira's category key (`new`, `indeterminate`, `done`, or another), for its colour.
            public var key: String
            public var name: String
            public var count: Int
            public var sum: Double?
        }
        public var total: Int
        public var categories: [Category]
        public var sum: Double?
    }

    public var title: String
    public var header: Header
    /// Nil when the report's layout turns the summary off.
    public var summary: Summary?
    /// The summed field's label ("Story points"), when the layout sums one.
    public var sumLabel: String?
    /// Whether the tables end with a "Notes" column for people to type into.
    public var notesColumn = false
    /// Nil when the layout turns the changes off.
    public var changes: Changes?
    /// What this document shows, to compare the next run with (nil when changes are off).
    public var snapshot: ReportSnapshot?
    public var sections: [Section]
    /// The report's id, written into the page as its marker so a page whose create answer was lost can
    /// be found again (docs/page-identity.md); nil for a page without one.
    public var reportId: String?
}
