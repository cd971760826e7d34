import Atlassian
import Foundation
import Microsoft
import Rendering

#if canImport(Glibc)
    import Glibc
#endif

/// Renderer throughput and peak memory: 5,000 issues with realistic fields (and one hostile summary in
/// five), rendered repeatedly; peak RSS from getrusage.
@main
struct RenderBench {
    static func main() throws {
        let count = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 5000
        let hostile = [
            "<script>alert(1)</script>", "Tom & Jerry's \"quoted\"", "Emoji 🎉 and RTL نص", "</table><img src=x>",
        ]
        let issues = (0..<count).map { index in
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
        // Timed: the whole render, from Jira's issues to the report document to OneNote's XHTML.
        func document() -> ReportDocument {
            ReportDocument(
                reportName: "Benchmark", jql: "project = OPS ORDER BY key",
                columns: ["key", "summary", "status", "assignee", "priority", "updated", "labels"],
                issues: issues, runAt: Date(), timeZone: TimeZone(identifier: "Europe/Berlin")!,
                siteURL: URL(string: "https://example.atlassian.net"))
        }
        let renderer = OneNotePageRenderer()
        var bytes = 0
        var rates: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let output = renderer.render(document())
            let elapsed = ContinuousClock.now - start
            bytes = output.page.utf8.count + output.appendedTables.reduce(0) { $0 + $1.utf8.count }
            rates.append(
                Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let median = rates.sorted()[rates.count / 2]
        print("render-bench: \(count) issues, 7 columns, \(bytes / 1024) KB of XHTML per render, 5 runs")
        print(
            String(
                format: "renderer: %.0f issues/s (median; range %.0f–%.0f), peak RSS %.1f MB", median, rates.min()!,
                rates.max()!, Double(usage.ru_maxrss) / 1024))
    }
}
