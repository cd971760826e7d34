import Atlassian
import Foundation

/// One value of a Jira field as a person reads it in Jira (docs/jira-fields.md): by the column's kind
/// when it is known, else by the value's shape. Pure and total: any JSON gives a cell, text is never
/// markup, and nothing here fails a run.
struct FieldValues {
    let timeZone: TimeZone
    /// Characters of rich text kept per cell; the rest is read in Jira.
    var richTextCap = 2_000
    /// `<site>/browse/`, built once: an issue's address is this and its key.
    private let browse: String?

    /// `siteURL`: the site's address, for links to issues (nil: keys are plain text).
    init(siteURL: URL?, timeZone: TimeZone) {
        self.timeZone = timeZone
        browse = siteURL.map { $0.appendingPathComponent("browse").absoluteString + "/" }
    }

    func cell(_ value: JiraValue, kind: ReportColumn.Kind, issueKey: String) -> ReportDocument.Cell {
        switch (kind, value) {
        case (_, .null): return .empty
        case (.key, _): return link(issueKey, key: issueKey)
        case (.status, _):
            if let category = value["statusCategory"]?["key"]?.string {
                return .status(value["name"]?.string ?? "", category: category)
            }
        case (.dateTime, .string(let text)):
            if let seconds = JiraDates.parseDateTime(text) {
                return .text(JiraDates.display(secondsSince1970: seconds, in: timeZone))
            }
        case (.duration, .number(let seconds)): return text(JiraNumbers.duration(seconds: seconds))
        case (.url, .string(let text)):
            if let url = AtlassianDocument.safeURL(text) { return .link(text, url: url) }
        case (.issue, .string(let key)): return link(key, key: key)
        case (.count, .array(let items)): return .text(JiraNumbers.format(Double(items.count)))
        default: break
        }
        return shaped(value, issueKey: issueKey)
    }

    /// A value whose kind says nothing more: read by its shape.
    func shaped(_ value: JiraValue, issueKey: String) -> ReportDocument.Cell {
        switch value {
        case .null: return .empty
        case .bool(let flag): return .text(flag ? "Yes" : "No")
        case .number(let number): return .text(JiraNumbers.format(number))
        case .string(let string):
            if let seconds = JiraDates.parseDateTime(string) {
                return .text(JiraDates.display(secondsSince1970: seconds, in: timeZone))
            }
            return text(string)
        case .array(let items): return array(items, issueKey: issueKey)
        case .object(let object):
            if object["type"]?.string == "doc", object["content"] != nil {
                let rich = AtlassianDocument.richText(value, cap: richTextCap, continuation: issueURL(issueKey))
                return rich.blocks.isEmpty ? .empty : .rich(rich)
            }
            if let key = object["key"]?.string, let summary = object["fields"]?["summary"]?.string {
                // An issue (parent, epic): its key and summary, linked to it.
                return link("\(key) \(summary)", key: key)
            }
            return text(Self.name(of: value))
        }
    }

    func array(_ items: [JiraValue], issueKey: String) -> ReportDocument.Cell {
        if let first = items.first, first["filename"] != nil, first["mimeType"] != nil {
            return .text(JiraNumbers.format(Double(items.count)))  // attachments: how many
        }
        if let first = items.first, first["type"]?["inward"] != nil {
            return text(Self.issueLinks(items))
        }
        return text(Self.names(items))
    }

    /// The items' names, the empty ones left out, joined by ", " (built in one string: a report
    /// joins two or three of these per row).
    static func names(_ items: [JiraValue]) -> String {
        var output = ""
        for item in items {
            let name = name(of: item)
            if name.isEmpty { continue }
            if !output.isEmpty { output += ", " }
            output += name
        }
        return output
    }

    /// The name of one value as Jira shows it, for every object shape a field holds.
    static func name(of value: JiraValue) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "Yes" : "No"
        case .number(let number): return JiraNumbers.format(number)
        case .string(let string): return string
        case .array(let items): return names(items)
        case .object(let object):
            // The common shapes first: a user, a named object (a sprint among them), an option.
            if let name = object["displayName"]?.string { return name }
            if let name = object["name"]?.string {
                if let state = object["state"]?.string, object["boardId"] != nil {
                    return name + " (" + Self.lowercased(state) + ")"  // a sprint
                }
                return name
            }
            if let option = object["value"]?.string {
                if let child = object["child"]?["value"]?.string { return "\(option) › \(child)" }  // cascading
                return option
            }
            if object["originalEstimate"] != nil || object["remainingEstimate"] != nil || object["timeSpent"] != nil {
                return timeTracking(value)
            }
            if let votes = object["votes"]?.number { return JiraNumbers.format(votes) }
            if let watchers = object["watchCount"]?.number { return JiraNumbers.format(watchers) }
            if let percent = object["percent"]?.number { return JiraNumbers.format(percent) + "%" }
            if AtlassianDocument.isDocument(value) {
                return AtlassianDocument.richText(value, cap: 500, continuation: nil).plainText
            }
            return object["key"]?.string ?? ""
        }
    }

    /// `Estimate 2d · Remaining 1d · Logged 3h`, in Jira's own words for each part it has.
    static func timeTracking(_ value: JiraValue) -> String {
        [("Estimate", "originalEstimate"), ("Remaining", "remainingEstimate"), ("Logged", "timeSpent")]
            .compactMap { label, key in value[key]?.string.map { "\(label) \($0)" } }
            .joined(separator: " · ")
    }

    /// `3 (2 blocks, 1 relates to)`: how many links, by the words of their kinds.
    static func issueLinks(_ links: [JiraValue]) -> String {
        var counts: [(String, Int)] = []
        for link in links {
            let word =
                (link["outwardIssue"] != nil ? link["type"]?["outward"]?.string : link["type"]?["inward"]?.string)
                ?? "linked"
            if let index = counts.firstIndex(where: { $0.0 == word }) {
                counts[index].1 += 1
            } else {
                counts.append((word, 1))
            }
        }
        let kinds = counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
        return "\(links.count) (\(kinds))"
    }

    /// `text` in lower case; Jira's sprint states (`active`, `closed`, `future`) are already, and are
    /// returned as they are.
    static func lowercased(_ text: String) -> String {
        let plain = !text.utf8.contains { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 >= 0x80 }
        return plain ? text : text.lowercased()
    }

    func text(_ string: String) -> ReportDocument.Cell { string.isEmpty ? .empty : .text(string) }

    /// The issue's address on the site. Keys are letters, digits and a dash; anything else in one is
    /// percent-encoded as a path segment.
    func issueURL(_ key: String) -> String? {
        guard let browse else { return nil }
        let plain = key.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_")
        }
        if plain { return browse + key }
        return browse + (key.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? "")
    }

    func link(_ text: String, key: String) -> ReportDocument.Cell {
        issueURL(key).map { .link(text, url: $0) } ?? .text(text)
    }
}
