import Foundation
import Rendering
import Testing

@testable import Reports
@testable import ReportsAPI
@testable import ReportsSupport

/// The API's answers are typed `Encodable` values. Clients must see the same bytes as
/// before, so the dictionaries the API built until then (copied here as the oracle) are compared with
/// the typed responses over reports and runs in every state, with absent fields, markup and non-ASCII.
@Suite("Typed API responses keep their bytes")
struct ResponseBytesTests {
    static func report(_ index: Int) -> Report {
        Report(
            id: "0b7a9d2e-5c3f-4e1a-9b8d-2f6c4a1e7d3\(index)", installationId: "ari:cloud:ecosystem::installation/a",
            ownerAccountId: "557058:a", name: index % 2 == 0 ? "Open <b>bugs</b> \u{2028} ü" : "Plain",
            jql: index % 3 == 0 ? nil : "project = \"OPS\" AND summary ~ 'a/b'",
            filterId: index % 3 == 0 ? "10000" : nil,
            columns: index % 2 == 0 ? #"["key","summary","status"]"# : "[]", location: "1-abc!11-DEF",
            layout: index % 2 == 1 ? #"{"groupBy":"status","notesColumn":true,"sumField":"customfield_10016"}"# : "{}",
            pageUrl: index % 2 == 0 ? "https://onenote.example/p?a=1&b=<2>" : nil,
            scheduleCron: index % 2 == 1 ? "0 9 * * 1-5" : nil,
            scheduleTimeZone: index % 2 == 1 ? "Europe/Berlin" : nil,
            enabled: index % 2 == 0, nextRunAt: index % 2 == 1 ? 1_800_000_123_456 : nil,
            createdAt: 1_800_000_000_000, updatedAt: 1_800_000_000_001 + Int64(index))
    }

    static func run(_ status: ReportRun.Status, error: Bool) -> ReportRun {
        ReportRun(
            id: "r-\(status.rawValue)", reportId: "rep-1", installationId: "i", jobId: 7,
            trigger: status == .queued ? .schedule : .manual,
            status: status, attempt: 2, queuedAt: 1_800_000_000_000,
            startedAt: status == .queued ? nil : 1_800_000_001_000,
            finishedAt: status == .succeeded || status == .failed ? 1_800_000_002_000 : nil,
            issueCount: status == .succeeded ? 42 : nil,
            pageUrl: status == .succeeded ? "https://onenote.example/p" : nil,
            errorCode: error ? "invalid_jql" : nil, errorMessage: error ? "Jira said \"no\" <here>" : nil,
            nextAttemptAt: status == .queued && error ? 1_800_000_060_000 : nil)
    }

    /// What `JSONSerialization` read is written back with its types: a 1 stayed `true` once (1 also
    /// casts to Bool), which the sandbox's bridge then handed the admin page as "true failed runs".
    @Test func numbersReadBackKeepTheirType() throws {
        let text = #"{"a":1,"b":true,"c":0,"d":2.5,"e":false,"f":[1,0,true]}"#
        #expect(JSONText.serialize(try JSONSerialization.jsonObject(with: Data(text.utf8))) == text)
    }

    @Test func reportsAndRunsSerializeExactlyAsTheDictionariesDid() throws {
        for index in 0..<6 {
            let report = Self.report(index)
            #expect(try JSONTreeEncoder.serialize(ReportResponse(report)) == JSONText.serialize(Oracle.report(report)))
        }
        for status in [ReportRun.Status.queued, .running, .succeeded, .failed] {
            for error in [false, true] {
                let run = Self.run(status, error: error)
                #expect(try JSONTreeEncoder.serialize(RunResponse(run)) == JSONText.serialize(Oracle.run(run)))
            }
        }
        let list = [Self.report(0), Self.report(1)]
        #expect(
            try JSONTreeEncoder.serialize(ReportListResponse(reports: list.map(ReportResponse.init)))
                == JSONText.serialize(["reports": list.map(Oracle.report)]))
    }

    @Test func runRequestsAndTheConnectionStatusKeepTheirShape() throws {
        let run = Self.run(.queued, error: false)
        let followUp = RunRequestResponse(
            run: RunResponse(run), created: true, disposition: .followUp, runningRunId: "r-running")
        #expect(
            try JSONTreeEncoder.serialize(followUp)
                == JSONText.serialize(
                    Oracle.run(run).merging(
                        ["created": true, "disposition": "follow_up", "runningRunId": "r-running"]) { $1 }))
        let joined = RunRequestResponse(run: RunResponse(run), created: false, disposition: .joined, runningRunId: nil)
        #expect(
            try JSONTreeEncoder.serialize(joined)
                == JSONText.serialize(Oracle.run(run).merging(["created": false, "disposition": "joined"]) { $1 }))

        let none = MeResponse(
            accountId: "a", installationId: "i",
            microsoft: .init(status: "not_connected", displayName: nil, connectedAt: nil), schedulesPaused: false)
        #expect(
            try JSONTreeEncoder.serialize(none)
                == #"{"accountId":"a","installationId":"i","microsoft":{"status":"not_connected"},"schedulesPaused":false}"#
        )
        let error = ErrorResponse(code: .notFound, message: "no such <resource>")
        #expect(
            try JSONTreeEncoder.serialize(error)
                == #"{"error":{"code":"not_found","message":"no such \u003cresource>"}}"#)
        #expect(try JSONTreeEncoder.serialize(EmptyResponse()) == "{}")
    }
}

/// The response dictionaries as `JSONView` built them before they became typed (commit 21eb344).
private enum Oracle {
    static func time(_ milliseconds: Int64?) -> Any {
        milliseconds.map { Timestamp.iso8601(milliseconds: $0) } ?? NSNull()
    }

    static func report(_ report: Report) -> [String: Any] {
        let definition = report.definition
        return [
            "id": report.id, "name": report.name, "jql": report.jql ?? NSNull(),
            "filterId": report.filterId ?? NSNull(),
            "columns": definition.columns, "sectionId": report.location,
            "schedule": definition.schedule.map { ["cron": $0.cron, "timeZone": $0.timeZone] as [String: Any] }
                ?? NSNull(),
            "enabled": report.enabled, "pageUrl": report.pageUrl ?? NSNull(), "nextRunAt": time(report.nextRunAt),
            "layout": [
                "summary": definition.layout.summary, "sumField": definition.layout.sumField ?? NSNull(),
                "groupBy": definition.layout.groupBy, "parentChild": definition.layout.parentChild,
                "notesColumn": definition.layout.notesColumn, "changes": definition.layout.changes,
            ] as [String: Any],
            "createdAt": time(report.createdAt), "updatedAt": time(report.updatedAt),
        ]
    }

    static func run(_ run: ReportRun) -> [String: Any] {
        [
            "id": run.id, "reportId": run.reportId, "trigger": run.trigger.rawValue, "status": run.status.rawValue,
            "queuedAt": time(run.queuedAt), "startedAt": time(run.startedAt), "finishedAt": time(run.finishedAt),
            "issueCount": run.issueCount ?? NSNull(), "pageUrl": run.pageUrl ?? NSNull(),
            "error": run.status == .failed
                ? run.errorCode.map { ["code": $0, "message": run.errorMessage ?? ""] as [String: Any] } ?? NSNull()
                : NSNull(),
            "lastError": run.status != .failed && run.status != .succeeded
                ? run.errorCode.map { ["code": $0, "message": run.errorMessage ?? ""] as [String: Any] } ?? NSNull()
                : NSNull(),
            "nextAttemptAt": time(run.nextAttemptAt),
        ]
    }
}
