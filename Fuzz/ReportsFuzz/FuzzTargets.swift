import Atlassian
import Crypto
import Foundation
import Microsoft
import Rendering
import Reports
import Security

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The parsers that take outside input, each with the invariant it must keep whatever the bytes.
/// A broken invariant is a crash, which libFuzzer records with its input.
enum FuzzTargets {
    static let all: [String: @Sendable (Data) -> Void] = [
        "fit": fit, "state": state, "cron": cron, "body": body, "render": render, "cell": cell, "notes": notes,
        "json": json,
    ]

    /// Jira's answers as `JiraJSON` reads them: whatever the bytes, it reads exactly what `JSONDecoder`
    /// reads, value for value, and refuses what it refuses.
    static func json(_ data: Data) {
        let ours = try? JiraJSON.parse(data)
        let foundation = try? JSONDecoder().decode(JiraValue.self, from: data)
        check(
            ours == foundation,
            "JiraJSON read \(String(describing: ours)), JSONDecoder \(String(describing: foundation))")
    }

    /// The FIT front end (size, shape, header: everything before any crypto) never accepts what the
    /// verifier must refuse.
    static func fit(_ data: Data) {
        let token = String(decoding: data, as: UTF8.self)
        if let kid = try? FITVerifier.frontEnd(token) {
            check(token.utf8.count <= FITVerifier.maxTokenBytes, "an oversized token passed the front end")
            check(
                token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).count == 3,
                "a token without three parts passed")
            check(!kid.isEmpty && kid.utf8.count <= 256, "a bad kid passed")
        }
        if let url = URL(string: token) { _ = FITVerifier.cloudId(from: url) }
    }

    private static let stateKey = SymmetricKey(data: Data(repeating: 7, count: 32))

    /// The OAuth state: raw input never verifies (it would need our MAC), and input signed with our key
    /// reaches the JSON decoding, which accepts only well-formed fields.
    static func state(_ data: Data) {
        let verifier = OAuthState(key: stateKey, now: { Date(timeIntervalSince1970: 1_800_000_000) })
        if (try? verifier.verify(String(decoding: data, as: UTF8.self))) != nil {
            check(false, "a state with no valid MAC verified")
        }
        let mac = HMAC<SHA256>.authenticationCode(for: data, using: stateKey)
        let signed = Base64URL.encode(data) + "." + Base64URL.encode(Data(mac))
        if let fields = try? verifier.verify(signed) {
            check(Double(fields.exp) > 1_800_000_000, "an expired state verified")
            check(signed.utf8.count <= 2048, "an oversized state verified")
        }
    }

    /// Cron and time zone: parsing never traps, and finding the next runs always ends, moving forward.
    static func cron(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        guard
            let schedule = try? CronSchedule(
                cron: String(parts[0]), timeZone: parts.count > 1 ? String(parts[1]) : "UTC")
        else { return }
        var after = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 0..<3 {
            guard let next = schedule.nextRun(after: after) else { break }
            check(next > after, "the next run is not after the last")
            after = next
        }
        if let expression = try? CronExpression(String(parts[0])) { _ = expression.shortestIntervalMinutes }
    }

    /// A report body: decoding and validation answer with one of the API's stable codes, never trap; and
    /// what validation accepts is stored in a real SQLite file (FuzzStore) without a database error — a
    /// NUL in a name once passed validation and failed the schema's CHECK (a 500).
    static func body(_ data: Data) {
        let report: ReportBody
        do {
            report = try JSONObjectBody.decode(ReportBody.self, from: data, allowedFields: ReportBody.fields)
        } catch {
            check(
                ["invalid_json", "unknown_field", "invalid_field", "missing_field", "duplicate_field"].contains(
                    error.code), "unknown code \(error.code)")
            return
        }
        let definition = report.definition
        let schedule: CronSchedule?
        do {
            schedule = try definition.validate()
        } catch {
            return
        }
        do {
            try FuzzStore.shared.storeAndRollBack(definition, schedule: schedule)
        } catch {
            check(false, "a definition the validation accepted failed the database: \(error)")
        }
    }

    static let elements: Set<String> = [
        "html", "head", "title", "meta", "body", "p", "table", "tr", "td", "b", "i", "a", "br", "div", "h2", "span",
    ]
    static let attributes: Set<String> = ["name", "content", "data-id", "border", "style", "href"]

    /// The renderer: whatever the issues hold, the page is well-formed XHTML made only of the
    /// renderer's own elements and attributes; nothing from the input becomes markup.
    static func render(_ data: Data) {
        let strings = data.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        func text(_ index: Int) -> String { strings.isEmpty ? "" : strings[index % strings.count] }
        let issues = (0..<max(1, min(strings.count / 4, 20))).map { index -> JiraIssue in
            let base = index * 4
            return JiraIssue(
                id: "\(10000 + index)", key: text(base).isEmpty ? "OPS-\(index)" : text(base),
                fields: [
                    "summary": .string(text(base + 1)), "status": .object(["name": .string(text(base + 2))]),
                    "assignee": .object(["displayName": .string(text(base + 3))]),
                    "labels": .array([.string(text(base + 1)), .string(text(base + 2))]),
                    "updated": .string(text(base + 3)), "customfield_10010": .number(Double(index)),
                    "parent": .object(["key": .string(text(base + 4))]),
                ])
        }
        // The layouts by the input's size: groups by a field the input fills, children, notes.
        let layouts = [
            PageLayout(), PageLayout(groupBy: "status", parentChild: true),
            PageLayout(summary: false, sumField: "customfield_10010", groupBy: "assignee", notesColumn: true),
        ]
        let input = ReportDocument(
            reportName: text(1), jql: text(2),
            columns: ["key", "summary", "status", "assignee", "labels", "updated", "customfield_10010"],
            issues: issues, runAt: Date(timeIntervalSince1970: 1_800_000_000),
            timeZone: TimeZone(identifier: "Europe/Berlin")!,
            siteURL: URL(string: "https://example.atlassian.net"), cappedAt: strings.count % 2 == 0 ? nil : 5000,
            reportId: text(3), layout: layouts[strings.count % layouts.count])
        let output = OneNotePageRenderer(maxPartBytes: 2_000).render(input)
        for document in [output.page, output.header, output.firstPart] + output.appendedParts {
            checkMarkup(document, elements: elements, attributes: attributes, from: "the issues")
        }
    }

    /// What a note typed in OneNote may hold once read back (`NoteMarkup.elements`).
    static let noteElements: Set<String> = [
        "u", "s", "strong", "em", "span", "ul", "ol", "li", "sup", "sub", "del", "cite", "code", "pre",
    ]

    /// Notes read from any page (the input as OneNote's answer) and written back: the page is
    /// well-formed XHTML, only the notes' allowed elements and attributes come from the input, and a
    /// note read back from the written page is the note that was written.
    static func notes(_ data: Data) {
        let notes = PageNotes.read(String(decoding: data, as: UTF8.self))
        let keys = notes.byKey.keys.sorted()
        let document = ReportDocument(
            reportName: "Fuzz", jql: "project = OPS", columns: ["summary"],
            issues: keys.prefix(keys.count / 2).map { JiraIssue(id: $0, key: $0, fields: [:]) },
            runAt: Date(timeIntervalSince1970: 1_800_000_000), timeZone: TimeZone(identifier: "UTC")!,
            siteURL: URL(string: "https://example.atlassian.net"), layout: PageLayout(summary: false, notesColumn: true)
        )
        let output = OneNotePageRenderer().render(document, notes: notes)
        checkMarkup(
            output.page, elements: elements.union(noteElements), attributes: attributes.union(["data-tag"]),
            from: "a note")
        check(PageNotes.read(output.page) == notes, "a note changed on its way through the page")
    }

    /// What a formatted cell may add: paragraphs, headings, lists, code, links and character styles.
    static let richElements: Set<String> = [
        "br", "u", "del", "span", "div", "pre", "ul", "ol", "li", "h3", "h4", "h5", "h6",
    ]

    /// Any JSON value in a field of any kind gives a well-formed table made only of the renderer's
    /// elements and attributes (the input is JSON when it parses as JSON, else one string).
    static func cell(_ data: Data) {
        let value =
            (try? JSONDecoder().decode(JiraValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self))
        for kind in [
            ReportColumn.Kind.key, .status, .dateTime, .date, .number, .duration, .url, .issue, .count, .richText,
            .text,
        ] {
            let document = ReportDocument(
                reportName: "Fuzz", jql: "project = OPS", columns: ["customfield_1"],
                catalogue: ["customfield_1": ReportColumn(id: "customfield_1", label: "Field", kind: kind)],
                issues: [JiraIssue(id: "1", key: "OPS-1", fields: ["customfield_1": value])],
                runAt: Date(timeIntervalSince1970: 1_800_000_000), timeZone: TimeZone(identifier: "Europe/Berlin")!,
                siteURL: URL(string: "https://example.atlassian.net"))
            checkMarkup(
                OneNotePageRenderer().render(document).firstPart, elements: elements.union(richElements),
                attributes: attributes, from: "a \(kind) value")
        }
    }

    /// `text` parses as XML and holds only `elements` and `attributes` (what came `from` the input).
    static func checkMarkup(_ text: String, elements: Set<String>, attributes: Set<String>, from input: String) {
        let markup = MarkupCollector()
        let parser = XMLParser(data: Data(text.replacingOccurrences(of: "<!DOCTYPE html>", with: "").utf8))
        parser.delegate = markup
        check(parser.parse(), "markup from \(input) does not parse: \(parser.parserError.map { "\($0)" } ?? "?")")
        check(
            markup.elements.isSubset(of: elements),
            "elements from \(input): \(markup.elements.subtracting(elements).sorted())")
        check(
            markup.attributes.isSubset(of: attributes),
            "attributes from \(input): \(markup.attributes.subtracting(attributes).sorted())")
    }

    private final class MarkupCollector: NSObject, XMLParserDelegate {
        var elements: Set<String> = []
        var attributes: Set<String> = []
        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.insert(elementName)
            self.attributes.formUnion(attributes.keys)
        }
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("invariant broken: \(message())") }
    }
}
