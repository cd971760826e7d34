import Atlassian
import Foundation
import Microsoft
import Rendering

#if canImport(Glibc)
    import CoreFoundation
    import Glibc
#endif

/// Renderer throughput and peak memory: 5,000 issues with realistic fields (and one hostile summary in
/// five), rendered repeatedly; peak RSS from getrusage.
@main
struct RenderBench {
    static func main() throws {
        // `render-bench [issues] [plain|rich|grouped]`: every shape by default; one, for its own peak RSS.
        let arguments = Array(CommandLine.arguments.dropFirst())
        let count = Int(arguments.first ?? "") ?? 5000
        let shapes = arguments.count > 1 ? [arguments[1]] : ["plain", "rich", "grouped", "decode"]
        // Timed: the whole render, from Jira's issues to the report document to OneNote's XHTML.
        if shapes.contains("plain") {
            let plain = measure(
                plainIssues(count), columns: ["key", "summary", "status", "assignee", "priority", "updated", "labels"],
                catalogue: [:], layout: PageLayout(summary: false))
            print("render-bench: \(count) issues, 7 plain columns, \(plain.kilobytes) KB of XHTML per render, 5 runs")
            print(plain.line)
        }
        if shapes.contains("rich") { measureRich(count: count) }
        if shapes.contains("decode") { measureDecoding(count: count) }
        if shapes.contains("grouped") { measureRich(count: count, grouped: true) }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(String(format: "peak RSS %.1f MB", Double(usage.ru_maxrss) / 1024))
    }

    /// `grouped`: the same issues in 30 groups (their team), story points added up per group and in
    /// the summary, one issue in four a child of an issue listed before it, compared with a last run
    /// (50 issues new, one summary in seven changed), with a note on one issue in ten.
    static func measureRich(count: Int, grouped: Bool = false) {
        // The shape people ask for: rich-text descriptions and custom fields of several kinds. The plain
        // issues it starts from are gone before the timing, so the peak RSS is this shape's own.
        let rich = richIssues(plainIssues(count), teams: grouped ? 30 : 3, parents: grouped)
        let catalogue = [
            "customfield_10016": ReportColumn(id: "customfield_10016", label: "Story points", kind: .number),
            "customfield_10020": ReportColumn(id: "customfield_10020", label: "Sprint", kind: .text),
            "customfield_10021": ReportColumn(id: "customfield_10021", label: "Team", kind: .text),
        ]
        let columns = [
            "key", "summary", "status", "assignee", "updated", "description", "customfield_10016",
            "customfield_10020", "customfield_10021", "labels",
        ]
        let layout =
            grouped
            ? PageLayout(
                sumField: "customfield_10016", groupBy: "customfield_10021", parentChild: true, notesColumn: true)
            : PageLayout(summary: false)
        var lastRun = LastRun.unknown
        var notes = PageNotes()
        // The last run read the same site: only the edited summaries and the new issues are changes.
        let site = URL(string: "https://example.atlassian.net")
        if grouped {
            let before = rich.dropLast(50).enumerated().map { index, issue in
                var fields = issue.fields
                if index % 7 == 0 { fields["summary"] = .string("An older title of \(issue.key)") }
                return JiraIssue(id: issue.id, key: issue.key, fields: fields)
            }
            lastRun =
                ReportDocument(
                    reportName: "Benchmark", jql: "x", columns: columns, catalogue: catalogue, issues: before,
                    runAt: Date(), timeZone: TimeZone(identifier: "Europe/Berlin")!, siteURL: site, layout: layout,
                    lastRun: .none
                ).snapshot.map(LastRun.snapshot) ?? .none
            for issue in rich.enumerated() where issue.offset % 10 == 0 {
                notes.add("<p>Discussed on Monday: <b>ask</b> the team</p>", for: issue.element.key)
            }
            measureSnapshot(lastRun)
        }
        let full = measure(
            rich, columns: columns, catalogue: catalogue, layout: layout, lastRun: lastRun, notes: notes)
        print(
            "render-bench: \(count) issues, 10 columns (ADF descriptions, custom fields)\(grouped ? ", 30 groups with sums, children under parents, the summary, changes and notes" : ""), \(full.kilobytes) KB of XHTML per render, 5 runs"
        )
        print(full.line)
        if grouped { measureNotesReading(full.page, expected: notes.byKey.count) }
    }

    /// Reading Jira's search pages: `count` rich issues as pages of 100 of JSON, decoded as the worker
    /// did (`JiraIssue`'s `Decodable` form) and as it does (`JiraSearchPage`), each checked to read the same.
    static func measureDecoding(count: Int) {
        let issues = richIssues(plainIssues(count), teams: 30, parents: true)
        let pages = stride(from: 0, to: issues.count, by: 100).map { start in
            let page: [String: Any] = [
                "isLast": false, "nextPageToken": "next",
                "issues": issues[start..<min(start + 100, issues.count)].map { issue in
                    ["id": issue.id, "key": issue.key, "fields": issue.fields.mapValues(jsonObject)] as [String: Any]
                },
            ]
            return try! JSONSerialization.data(withJSONObject: page)
        }
        struct Decoded: Decodable { let issues: [JiraIssue] }
        var runs: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let read = pages.reduce(0) { $0 + (try! JSONDecoder().decode(Decoded.self, from: $1)).issues.count }
            precondition(read == issues.count)
            runs.append(milliseconds(ContinuousClock.now - start))
        }
        // The worker's reader (`JiraJSON` through `JiraSearchPage`), on the same pages in the same sitting.
        var reader: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let read = pages.reduce(0) { $0 + JiraSearchPage($1)!.issues.count }
            precondition(read == issues.count)
            reader.append(milliseconds(ContinuousClock.now - start))
        }
        precondition(
            pages.allSatisfy {
                JiraSearchPage($0)!.issues == (try! JSONDecoder().decode(Decoded.self, from: $0)).issues
            })
        let kilobytes = pages.reduce(0) { $0 + $1.count } / 1024
        print(
            String(
                format:
                    "decode: %d issues in %d pages of 100 (%d KB of JSON), JSONDecoder %.1f ms, JiraJSON %.1f ms (medians of 5)",
                issues.count, pages.count, kilobytes, runs.sorted()[2], reader.sorted()[2]))
    }

    /// A value as `JSONSerialization` writes it.
    static func jsonObject(_ value: JiraValue) -> Any {
        switch value {
        case .string(let text): text
        case .number(let number): number
        case .bool(let flag): flag
        case .null: NSNull()
        case .array(let items): items.map(jsonObject)
        case .object(let object): Dictionary(uniqueKeysWithValues: object.map { ($0.key, jsonObject($0.value)) })
        }
    }

    /// Reading the notes back from the page this shape renders (what a worker does before each update),
    /// on the whole page's markup as one text, as a page's content answer holds it.
    static func measureNotesReading(_ page: String, expected: Int) {
        var times: [Double] = []
        var read = PageNotes()
        for _ in 0..<5 {
            let start = ContinuousClock.now
            read = PageNotes.read(page)
            times.append(milliseconds(ContinuousClock.now - start))
        }
        print(
            String(
                format: "notes: %d of %d read back from %d KB of page, %.1f ms (median of 5)", read.byKey.count,
                expected, page.utf8.count / 1024, times.sorted()[2]))
    }

    /// 5,000 issues with realistic fields and one hostile summary in five.
    static func plainIssues(_ count: Int) -> [JiraIssue] {
        let hostile = [
            "<script>alert(1)</script>", "Tom & Jerry's \"quoted\"", "Emoji 🎉 and RTL نص", "</table><img src=x>",
        ]
        return (0..<count).map { index in
            JiraIssue(
                id: "\(index)", key: "OPS-\(index)",
                fields: [
                    "summary": .string(
                        index % 5 == 0
                            ? hostile[index / 5 % hostile.count]
                            : "Improve the report export for customer \(index) "
                                + String(repeating: "with details ", count: 8)),
                    "status": .object([
                        "name": .string("In Progress"), "statusCategory": .object(["key": .string("indeterminate")]),
                    ]),
                    "assignee": index % 3 == 0 ? .null : .object(["displayName": .string("Mia Krystof")]),
                    "priority": .object(["name": .string("High")]),
                    "updated": .string("2026-11-2\(index % 9)T14:22:05.123+0000"),
                    "labels": .array([.string("customer"), .string("q4")]),
                ])
        }
    }

    /// The kept snapshot's bytes both ways, at this size (what the run's settle stores and the claim reads).
    static func measureSnapshot(_ lastRun: LastRun) {
        guard case .snapshot(let snapshot) = lastRun else { return }
        var encodeMs: [Double] = []
        var decodeMs: [Double] = []
        var bytes = Data()
        for _ in 0..<5 {
            var start = ContinuousClock.now
            bytes = snapshot.encoded()
            encodeMs.append(milliseconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            _ = ReportSnapshot(encoded: bytes)
            decodeMs.append(milliseconds(ContinuousClock.now - start))
        }
        print(
            String(
                format: "snapshot: %d issues, %.0f KB; encode %.1f ms, decode %.1f ms (medians of 5)",
                snapshot.issues.count, Double(bytes.count) / 1024, encodeMs.sorted()[2], decodeMs.sorted()[2]))
    }

    /// The CPU time the process has used, on all its threads (the rows are built and written on every
    /// core): what a render costs whatever else the host runs meanwhile (wall time on a shared host also
    /// counts the minutes another tenant holds the cores).
    static func processCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    struct Measured {
        let kilobytes: Int
        let line: String
        /// The last render's markup, its parts joined.
        let page: String
    }

    static func measure(
        _ issues: [JiraIssue], columns: [String], catalogue: [String: ReportColumn], layout: PageLayout,
        lastRun: LastRun = .unknown, notes: PageNotes = PageNotes()
    ) -> Measured {
        let renderer = OneNotePageRenderer()
        var bytes = 0
        var parts: [String] = []
        var milliseconds: [Double] = []
        var cpu: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let cpuStart = processCPUMilliseconds()
            let output = renderer.render(
                ReportDocument(
                    reportName: "Benchmark", jql: "project = OPS ORDER BY key", columns: columns, catalogue: catalogue,
                    issues: issues, runAt: Date(), timeZone: TimeZone(identifier: "Europe/Berlin")!,
                    siteURL: URL(string: "https://example.atlassian.net"), layout: layout, lastRun: lastRun),
                notes: notes)
            let elapsed = ContinuousClock.now - start
            cpu.append(processCPUMilliseconds() - cpuStart)
            bytes = output.page.utf8.count + output.appendedParts.reduce(0) { $0 + $1.utf8.count }
            parts = [output.page] + output.appendedParts
            milliseconds.append(
                Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        let median = milliseconds.sorted()[milliseconds.count / 2]
        return Measured(
            kilobytes: bytes / 1024,
            line: String(
                format:
                    "renderer: %.0f ms per render (median; range %.0f–%.0f), %.0f issues/s; CPU %.0f ms (median; range %.0f–%.0f)",
                median, milliseconds.min()!, milliseconds.max()!, Double(issues.count) / median * 1000,
                cpu.sorted()[cpu.count / 2], cpu.min()!, cpu.max()!),
            page: parts.joined())
    }

    /// The same issues with a description of a few paragraphs, a list and code (hostile text in one in
    /// five), story points, sprints and a team.
    static func richIssues(_ issues: [JiraIssue], teams: Int = 3, parents: Bool = false) -> [JiraIssue] {
        func text(_ value: String, bold: Bool = false) -> JiraValue {
            bold
                ? .object([
                    "type": .string("text"), "text": .string(value),
                    "marks": .array([.object(["type": .string("strong")])]),
                ])
                : .object(["type": .string("text"), "text": .string(value)])
        }
        func paragraph(_ items: [JiraValue]) -> JiraValue {
            .object(["type": .string("paragraph"), "content": .array(items)])
        }
        return issues.enumerated().map { index, issue in
            var fields = issue.fields
            let hostile = index % 5 == 0 ? "</td><script>alert(1)</script> & more" : "the export to customers"
            fields["description"] = .object([
                "type": .string("doc"), "version": .number(1),
                "content": .array([
                    paragraph([
                        text("As a support lead I want "), text(hostile, bold: true),
                        text(" so that reports are on time."),
                    ]),
                    .object([
                        "type": .string("bulletList"),
                        "content": .array(
                            ["first step", "second step", "third step"].map {
                                .object(["type": .string("listItem"), "content": .array([paragraph([text($0)])])])
                            }),
                    ]),
                    .object(["type": .string("codeBlock"), "content": .array([text("GET /reports?limit=50\n200 OK")])]),
                    paragraph([
                        text("Owner "),
                        .object(["type": .string("mention"), "attrs": .object(["text": .string("@Mia Krystof")])]),
                        .object([
                            "type": .string("status"),
                            "attrs": .object(["text": .string("In review"), "color": .string("blue")]),
                        ]),
                    ]),
                ]),
            ])
            fields["customfield_10016"] = .number([1, 2, 3, 5, 8, 0.5][index % 6])
            fields["customfield_10020"] = .array([
                .object(["name": .string("Sprint 11"), "state": .string("closed"), "boardId": .number(3)]),
                .object(["name": .string("Sprint 12"), "state": .string("active"), "boardId": .number(3)]),
            ])
            let team = teams == 3 ? ["Platform", "Payments", "Growth"][index % 3] : "Team \(index % teams + 1)"
            fields["customfield_10021"] = .object(["value": .string(team)])
            if parents && index % 4 == 3 {
                // A child of an issue of the same team listed before it.
                fields["parent"] = .object(["key": .string("OPS-\(index - teams)")])
            }
            return JiraIssue(id: issue.id, key: issue.key, fields: fields)
        }
    }
}
