import Foundation
public import Rendering

/// What a user asks for: the query, the columns, where the page goes, and when. Validated before it is
/// stored; every problem is reported with the field it concerns.
public struct ReportDefinition: Sendable, Equatable, Codable {
    var name: String
    /// Exactly one of `jql` and `filterId`.
    var jql: String?
    var filterId: String?
    public var columns: [String]
    /// Where the page goes at the destination (for OneNote: a section's id; `sectionId` in the API).
    var location: String
    public var schedule: Schedule?
    var enabled: Bool
    /// How the page is laid out around the columns (the summary, groups, children under parents).
    public var layout: PageLayout

    /// Where the issues come from, as the API names it.
    public enum Query: Sendable, Equatable {
        case jql(String)
        /// A saved filter's id: its JQL is read as the report's owner at each run.
        case filter(id: String)
    }

    /// Whether this definition makes the report run on a schedule (a schedule, and not paused).
    public var runsOnSchedule: Bool { schedule != nil && enabled }

    /// Whether saving this over `stored` starts or changes runs on a schedule (what an inactive licence
    /// refuses, `LicensePolicy`); pausing, or keeping a schedule as it was, does not.
    public func schedulesRuns(comparedWith stored: ReportDefinition?) -> Bool {
        guard runsOnSchedule else { return false }
        guard let stored else { return true }
        return !stored.runsOnSchedule || stored.schedule != schedule
    }

    /// The query of a definition that names exactly one (nil otherwise; `validate` says why).
    public var query: Query? {
        switch (jql, filterId) {
        case (let jql?, nil): .jql(jql)
        case (nil, let id?): .filter(id: id)
        default: nil
        }
    }

    /// Coded as the API names it.
    enum CodingKeys: String, CodingKey {
        case name, jql, filterId, columns, schedule, enabled, layout
        case location = "sectionId"
    }

    public struct Schedule: Sendable, Equatable, Codable {
        /// Five-field cron, in `timeZone`.
        public var cron: String
        /// IANA time zone name.
        public var timeZone: String

        public init(cron: String, timeZone: String) {
            self.cron = cron
            self.timeZone = timeZone
        }
    }

    public init(
        name: String, jql: String? = nil, filterId: String? = nil, columns: [String], location: String,
        schedule: Schedule? = nil, enabled: Bool = true, layout: PageLayout = .standard
    ) {
        self.name = name
        self.jql = jql
        self.filterId = filterId
        self.columns = columns
        self.location = location
        self.schedule = schedule
        self.enabled = enabled
        self.layout = layout
    }

    static let maxJQLLength = 2000
    static let maxColumns = 20
    static let maxNameLength = 200

    /// The first problem found, or nil. Also returns the parsed schedule.
    ///
    /// Lengths count Unicode scalars, the unit of the schema's `length()` CHECKs and of JSON Schema's
    /// `maxLength` in docs/openapi.yaml: counting graphemes let 150 "👍🏽" (300 scalars) past this check
    /// and into the CHECK, a 500.
    public func validate() throws(ReportValidationError) -> CronSchedule? {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, name.unicodeScalars.count <= Self.maxNameLength else {
            throw .init(field: "name", "must be 1 to \(Self.maxNameLength) characters")
        }
        // A NUL ends SQLite's `length()` early (so the CHECK fails) and PostgreSQL's text cannot hold one:
        // refused here, at the field, instead of a 500 from the database.
        guard !name.unicodeScalars.contains(where: Self.isControl) else {
            throw .init(field: "name", "must not contain control characters")
        }
        switch (jql, filterId) {
        case (let jql?, nil):
            guard !jql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                jql.unicodeScalars.count <= Self.maxJQLLength
            else {
                throw .init(field: "jql", "must be 1 to \(Self.maxJQLLength) characters")
            }
            guard !jql.unicodeScalars.contains(where: { Self.isControl($0) && $0 != "\n" && $0 != "\t" }) else {
                throw .init(field: "jql", "must not contain control characters")
            }
        case (nil, let filterId?):
            guard !filterId.isEmpty, filterId.unicodeScalars.count <= 20, filterId.allSatisfy(\.isASCIIDigit) else {
                throw .init(field: "filterId", "must be a Jira filter id (digits)")
            }
        default:
            throw .init(field: "jql", "give exactly one of jql and filterId")
        }
        guard (1...Self.maxColumns).contains(columns.count) else {
            throw .init(field: "columns", "must list 1 to \(Self.maxColumns) columns")
        }
        guard Set(columns).count == columns.count else { throw .init(field: "columns", "must not repeat a column") }
        for column in columns where ReportColumn.named(column) == nil {
            throw .init(
                field: "columns",
                "'\(column.prefix(40))' is not a Jira field id (use e.g. key, summary, status or customfield_10010)")
        }
        guard Self.isSectionId(location) else { throw .init(field: "sectionId", "is not a OneNote section id") }
        try layout.check()
        guard let schedule else { return nil }
        do {
            return try CronSchedule(cron: schedule.cron, timeZone: schedule.timeZone)
        } catch {
            throw .init(
                field: error.message.hasPrefix("the time zone") ? "schedule.timeZone" : "schedule.cron", error.message)
        }
    }

    /// C0 controls (U+0000–U+001F) and DEL (U+007F).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || scalar.value == 0x7F }

    /// OneNote section ids look like `1-<guid>` or `0-<hex>!<n>`: a digit, a dash, then letters, digits, `!`, `.`, `_`, `-`.
    static func isSectionId(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (3...256).contains(bytes.count), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[0]),
            bytes[1] == UInt8(ascii: "-")
        else { return false }
        return bytes.dropFirst(2).allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "!"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

public struct ReportValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    let field: String
    let message: String
    /// The stable code the API answers with (`invalid_report`, or a quota's own code).
    public let code: String
    public init(field: String, _ message: String, code: String = "invalid_report") {
        self.field = field
        self.message = message
        self.code = code
    }
    public var description: String { "\(field): \(message)" }
}
