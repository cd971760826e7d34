import Atlassian
import Foundation
import Testing

@testable import Rendering

/// Each kind of Jira value as a person reads it in Jira (docs/jira-fields.md).
@Suite("Field values")
struct FieldValuesTests {
    static let values = FieldValues(
        siteURL: URL(string: "https://example.atlassian.net"), timeZone: TimeZone(identifier: "Europe/Berlin")!)

    static func cell(_ json: String, _ kind: ReportColumn.Kind = .text) throws -> ReportDocument.Cell {
        let value = try JSONDecoder().decode(JiraValue.self, from: Data(json.utf8))
        return values.cell(value, kind: kind, issueKey: "OPS-7")
    }

    @Test func usersOptionsAndListsReadAsNames() throws {
        #expect(
            try Self.cell(#"{"accountId":"5b10","displayName":"Mia Krystof","active":true}"#) == .text("Mia Krystof"))
        #expect(try Self.cell(#"[{"displayName":"Mia"},{"displayName":"Ravi"}]"#) == .text("Mia, Ravi"))
        #expect(try Self.cell(#"{"self":"x","value":"Gold","id":"10020"}"#) == .text("Gold"))
        #expect(try Self.cell(#"[{"value":"iOS"},{"value":"Web"}]"#) == .text("iOS, Web"))
        #expect(try Self.cell(#"{"value":"Europe","child":{"value":"Berlin"}}"#) == .text("Europe › Berlin"))
        #expect(try Self.cell(#"["customer","q4"]"#) == .text("customer, q4"))
        #expect(try Self.cell(#"[{"name":"2.1","released":false},{"name":"2.2"}]"#) == .text("2.1, 2.2"))
        #expect(try Self.cell(#"[]"#) == .empty)
        #expect(try Self.cell("null") == .empty)
        #expect(try Self.cell("true") == .text("Yes"))
    }

    @Test func numbersCarryNoFloatNoiseAndGroupThousands() throws {
        #expect(JiraNumbers.format(3) == "3")
        #expect(JiraNumbers.format(2.5) == "2.5")
        #expect(JiraNumbers.format(0.1 + 0.2) == "0.3")
        #expect(JiraNumbers.format(1_234_567) == "1\u{202F}234\u{202F}567")
        #expect(JiraNumbers.format(-1234.75) == "-1\u{202F}234.75")
        #expect(JiraNumbers.format(999.9999999) == "1\u{202F}000")
        #expect(JiraNumbers.format(.nan) == "" && JiraNumbers.format(-0.0) == "0")
        #expect(try Self.cell("13", .number) == .text("13"))
    }

    @Test func anOffsetIsHoursAndMinutesWithOrWithoutAColonAndNothingElse() {
        let utc = JiraDates.parseDateTime("2026-03-29T14:22:05.123+0000")
        #expect(utc != nil)
        #expect(JiraDates.parseDateTime("2026-03-29T16:22:05.123+0200") == utc)
        #expect(JiraDates.parseDateTime("2026-03-29T16:22:05.123+02:00") == utc)
        #expect(JiraDates.parseDateTime("2026-03-29T12:52:05.123-01:30") == utc)
        #expect(JiraDates.parseDateTime("2026-03-29T14:22:05Z") == utc)
        for odd in ["+0:000", "+02:0:0", "+020", "+02000", "+02:00x", "+::0200"] {
            #expect(JiraDates.parseDateTime("2026-03-29T14:22:05.123" + odd) == nil, "\(odd)")
        }
    }

    @Test func datesStayDaysAndDateTimesFollowTheReportsZone() throws {
        #expect(try Self.cell(#""2026-03-29""#, .date) == .text("2026-03-29"))
        // 01:30 UTC on the night Berlin moves its clocks forward is 03:30 in Berlin.
        #expect(try Self.cell(#""2026-03-29T01:30:00.000+0000""#, .dateTime) == .text("2026-03-29 03:30"))
        #expect(try Self.cell(#""2026-03-28T23:59:59.999-0700""#, .dateTime) == .text("2026-03-29 08:59"))
        #expect(try Self.cell(#""2026-03-29T01:30:00Z""#, .dateTime) == .text("2026-03-29 03:30"))
        #expect(try Self.cell(#""not a date""#, .dateTime) == .text("not a date"))
    }

    @Test func parsingMatchesFoundationForAnyMoment() {
        var generator = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: -2_000_000_000...5_000_000_000, using: &generator)
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            let text = formatter.string(from: date)
            #expect(JiraDates.parseDateTime(text) == seconds, "\(text)")
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let expected = String(
                format: "%04d-%02d-%02d %02d:%02d", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!)
            #expect(JiraDates.display(secondsSince1970: seconds, in: berlin) == expected)
        }
    }

    @Test func sprintsParentsEstimatesAndCountsReadAsJiraShowsThem() throws {
        let sprints =
            #"[{"id":1,"name":"Sprint 11","state":"closed","boardId":3},{"id":2,"name":"Sprint 12","state":"active","boardId":3}]"#
        #expect(try Self.cell(sprints) == .text("Sprint 11 (closed), Sprint 12 (active)"))
        #expect(
            try Self.cell(#"{"id":"1","key":"OPS-1","fields":{"summary":"Epic: billing"}}"#, .issue)
                == .link("OPS-1 Epic: billing", url: "https://example.atlassian.net/browse/OPS-1"))
        #expect(try Self.cell(#""OPS-2""#, .issue) == .link("OPS-2", url: "https://example.atlassian.net/browse/OPS-2"))
        #expect(try Self.cell("106200", .duration) == .text("3d 5h 30m"))
        #expect(JiraNumbers.duration(seconds: 5 * 8 * 3600 + 2 * 8 * 3600 + 3 * 3600) == "1w 2d 3h")
        #expect(
            try Self.cell(#"{"originalEstimate":"2d","remainingEstimate":"1d 4h","timeSpent":"4h"}"#)
                == .text("Estimate 2d · Remaining 1d 4h · Logged 4h"))
        #expect(try Self.cell(#"{"votes":4,"hasVoted":false}"#) == .text("4"))
        #expect(try Self.cell(#"{"watchCount":2,"isWatching":true}"#) == .text("2"))
        #expect(
            try Self.cell(
                #"[{"filename":"a.png","mimeType":"image/png"},{"filename":"b.pdf","mimeType":"application/pdf"}]"#)
                == .text("2"))
        let links =
            #"[{"type":{"name":"Blocks","inward":"is blocked by","outward":"blocks"},"outwardIssue":{"key":"A-1"}},{"type":{"name":"Blocks","inward":"is blocked by","outward":"blocks"},"outwardIssue":{"key":"A-2"}},{"type":{"name":"Relates","inward":"relates to","outward":"relates to"},"inwardIssue":{"key":"A-3"}}]"#
        #expect(try Self.cell(links) == .text("3 (2 blocks, 1 relates to)"))
        #expect(try Self.cell(#"{"progress":45,"total":100,"percent":45}"#) == .text("45%"))
    }

    @Test func webAddressesLinkAndOtherSchemesStayText() throws {
        #expect(
            try Self.cell(#""https://status.example.com/x?a=1""#, .url)
                == .link("https://status.example.com/x?a=1", url: "https://status.example.com/x?a=1"))
        #expect(try Self.cell(#""javascript:alert(1)""#, .url) == .text("javascript:alert(1)"))
    }

    @Test func theFieldListsSchemaGivesTheKind() {
        typealias Kind = ReportColumn.Kind
        #expect(Kind.of(schemaType: "datetime", items: nil, system: "created", custom: nil) == .dateTime)
        #expect(Kind.of(schemaType: "date", items: nil, system: "duedate", custom: nil) == .date)
        #expect(Kind.of(schemaType: "number", items: nil, system: "timespent", custom: nil) == .duration)
        #expect(
            Kind.of(
                schemaType: "number", items: nil, system: nil,
                custom: "com.atlassian.jira.plugin.system.customfieldtypes:float") == .number)
        #expect(
            Kind.of(
                schemaType: "string", items: nil, system: nil,
                custom: "com.atlassian.jira.plugin.system.customfieldtypes:url") == .url)
        #expect(
            Kind.of(
                schemaType: "string", items: nil, system: nil,
                custom: "com.atlassian.jira.plugin.system.customfieldtypes:textarea") == .richText)
        #expect(Kind.of(schemaType: "array", items: "attachment", system: "attachment", custom: nil) == .count)
        #expect(
            Kind.of(schemaType: "array", items: "json", system: nil, custom: "com.pyxis.greenhopper.jira:gh-sprint")
                == .text)
        #expect(
            Kind.of(schemaType: "any", items: nil, system: nil, custom: "com.pyxis.greenhopper.jira:gh-epic-link")
                == .issue)
    }

    @Test func aFieldTheSiteNoLongerListsIsNamedUnavailableAndTheRunGoesOn() {
        let document = ReportDocument(
            reportName: "r", jql: "j", columns: ["key", "customfield_10016", "customfield_10099"],
            catalogue: [
                "customfield_10016": ReportColumn(id: "customfield_10016", label: "Story points", kind: .number)
            ],
            issues: [JiraIssue(id: "1", key: "OPS-1", fields: ["customfield_10016": .number(5)])],
            runAt: Date(timeIntervalSince1970: 0), timeZone: TimeZone(identifier: "UTC")!, siteURL: nil)
        #expect(document.sections.first?.columns == ["Key", "Story points", "customfield_10099 (unavailable)"])
        #expect(document.sections.first?.rows == [[.text("OPS-1"), .text("5"), .empty]])
    }
}
