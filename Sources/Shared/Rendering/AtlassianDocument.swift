import Atlassian

/// Atlassian Document Format (the JSON Jira's v3 API gives rich text fields in, docs/jira-fields.md)
/// as `RichText`. Pure and tolerant: a node it does not know gives its text, a node without text
/// gives nothing, and nothing Jira sends fails a run. At most `cap` characters of text are kept; a
/// longer text ends with "…" and `continuation`. Nesting deeper than `maxDepth` is flattened to text,
/// so a hostile document cannot exhaust the stack.
struct AtlassianDocument {
    static let maxDepth = 24

    let cap: Int
    let continuation: String?
    private var used = 0
    private(set) var cut = false

    init(cap: Int, continuation: String?) {
        self.cap = cap
        self.continuation = continuation
    }

    /// True for an ADF document (`{"type": "doc", "content": [...]}`).
    static func isDocument(_ value: JiraValue) -> Bool {
        value["type"]?.string == "doc" && value["content"] != nil
    }

    static func richText(_ value: JiraValue, cap: Int, continuation: String?) -> RichText {
        var reader = AtlassianDocument(cap: cap, continuation: continuation)
        let blocks = reader.blocks(value["content"], depth: 0)
        return RichText(blocks: blocks, continuation: reader.cut ? continuation : nil)
    }

    // MARK: Blocks

    mutating func blocks(_ content: JiraValue?, depth: Int) -> [RichText.Block] {
        var output: [RichText.Block] = []
        blocks(content, depth: depth, into: &output)
        return output
    }

    /// Each node's blocks appended to `output` as it is read: a node gives none, one or several, and
    /// returning each node's own array cost an allocation per node (a visible part of a large report).
    mutating func blocks(_ content: JiraValue?, depth: Int, into output: inout [RichText.Block]) {
        guard case .array(let nodes) = content else { return }
        output.reserveCapacity(output.count + nodes.count)
        for node in nodes {
            if cut { break }
            block(node, depth: depth + 1, into: &output)
        }
    }

    mutating func block(_ node: JiraValue, depth: Int, into output: inout [RichText.Block]) {
        guard depth <= Self.maxDepth else {
            output.append(.paragraph(inlineText(Self.text(of: node))))
            return
        }
        guard case .object(let fields) = node else { return }
        let content = fields["content"]
        let type = fields["type"]?.string ?? ""
        switch type {
        case "paragraph":
            let items = inlines(content, style: [], depth: depth)
            if !items.isEmpty { output.append(.paragraph(items)) }
        case "heading":
            let level = min(max(Int(fields["attrs"]?["level"]?.number ?? 1), 1), 6)
            output.append(.heading(level: level, inlines(content, style: [], depth: depth)))
        case "bulletList", "orderedList", "taskList", "decisionList":
            let ordered = type == "orderedList"
            var items: [[RichText.Block]] = []
            if case .array(let entries) = content {
                items.reserveCapacity(entries.count)
                for entry in entries where !cut { items.append(listItem(entry, depth: depth + 1)) }
            }
            if !items.isEmpty { output.append(.list(ordered: ordered, items: items)) }
        case "codeBlock":
            output.append(.code(take(Self.text(of: node))))
        case "blockquote", "panel":
            output.append(.quote(blocks(content, depth: depth)))
        case "rule":
            output.append(.rule)
        case "expand", "nestedExpand":
            let title = fields["attrs"]?["title"]?.string ?? ""
            if !title.isEmpty { output.append(.paragraph([.text(take(title), .bold)])) }
            blocks(content, depth: depth, into: &output)
        case "table":
            table(node, into: &output)
        case "mediaSingle", "mediaGroup", "media":
            output.append(.paragraph([.text(take("(attachment)"), .italic)]))
        case "blockCard", "embedCard":
            if let url = Self.safeURL(fields["attrs"]?["url"]?.string) {
                output.append(.paragraph([.link(take(url), url: url)]))
            }
        default:
            // An inline node at block level, or a block this reader does not know: its content.
            guard content == nil else { return blocks(content, depth: depth, into: &output) }
            var items: [RichText.Inline] = []
            inline(node, style: [], depth: depth, into: &items)
            if !items.isEmpty { output.append(.paragraph(items)) }
        }
    }

    mutating func listItem(_ entry: JiraValue, depth: Int) -> [RichText.Block] {
        let type = entry["type"]?.string
        guard type == "taskItem" || type == "decisionItem" else { return blocks(entry["content"], depth: depth) }
        // Task and decision items hold inline content directly.
        let state = entry["attrs"]?["state"]?.string
        let done = state == "DONE" || state == "DECIDED"
        var items: [RichText.Inline] = [.text(done ? "☑ " : "☐ ", [])]
        inlines(entry["content"], style: [], depth: depth, into: &items)
        return [.paragraph(items)]
    }

    /// A page may have no row or column spans, and a table in a cell reads badly: each row becomes one
    /// paragraph of its cells' text, separated by " | ", a header row in bold.
    mutating func table(_ node: JiraValue, into output: inout [RichText.Block]) {
        guard case .array(let rows) = node["content"] else { return }
        for row in rows where !cut {
            guard case .array(let cells) = row["content"] else { continue }
            let header = cells.allSatisfy { $0["type"]?.string == "tableHeader" }
            let text = cells.map { Self.text(of: $0).trimmingWhitespace() }.joined(separator: " | ")
            output.append(.paragraph([.text(take(text), header ? .bold : [])]))
        }
    }

    // MARK: Inline content

    mutating func inlines(_ content: JiraValue?, style: RichText.Style, depth: Int) -> [RichText.Inline] {
        var output: [RichText.Inline] = []
        inlines(content, style: style, depth: depth, into: &output)
        return output
    }

    mutating func inlines(
        _ content: JiraValue?, style: RichText.Style, depth: Int, into output: inout [RichText.Inline]
    ) {
        guard case .array(let nodes) = content else { return }
        output.reserveCapacity(output.count + nodes.count)
        for node in nodes where !cut { inline(node, style: style, depth: depth + 1, into: &output) }
    }

    mutating func inline(
        _ node: JiraValue, style: RichText.Style, depth: Int, into output: inout [RichText.Inline]
    ) {
        guard case .object(let fields) = node else { return }
        let attrs = fields["attrs"]
        switch fields["type"]?.string ?? "" {
        case "text":
            var style = style
            var href: String?
            if case .array(let marks) = fields["marks"] {
                for mark in marks {
                    switch mark["type"]?.string ?? "" {
                    case "strong": style.insert(.bold)
                    case "em": style.insert(.italic)
                    case "code": style.insert(.code)
                    case "strike": style.insert(.strike)
                    case "underline": style.insert(.underline)
                    case "link": href = Self.safeURL(mark["attrs"]?["href"]?.string)
                    default: break
                    }
                }
            }
            let text = take(fields["text"]?.string ?? "")
            if !text.isEmpty { output.append(href.map { .link(text, url: $0) } ?? .text(text, style)) }
        case "hardBreak":
            output.append(.lineBreak)
        case "mention":
            let name = attrs?["text"]?.string ?? ""
            output.append(.text(take(name.isEmpty ? "@someone" : (name.hasPrefix("@") ? name : "@" + name)), style))
        case "emoji":
            output.append(.text(take(attrs?["text"]?.string ?? attrs?["shortName"]?.string ?? ""), style))
        case "status":
            output.append(.lozenge(take(attrs?["text"]?.string ?? ""), colour: attrs?["color"]?.string ?? "neutral"))
        case "date":
            let stamp = attrs?["timestamp"].flatMap { $0.string.flatMap(Double.init) ?? $0.number }
            if let stamp { output.append(.text(take(JiraDates.day(millisecondsSince1970: stamp)), style)) }
        case "inlineCard":
            if let url = Self.safeURL(attrs?["url"]?.string) { output.append(.link(take(url), url: url)) }
        default:
            guard depth <= Self.maxDepth else { return output.append(contentsOf: inlineText(Self.text(of: node))) }
            inlines(fields["content"], style: style, depth: depth, into: &output)
        }
    }

    mutating func inlineText(_ text: String) -> [RichText.Inline] {
        let kept = take(text)
        return kept.isEmpty ? [] : [.text(kept, [])]
    }

    /// Counts `text` against the cap: the part that fits; once the cap is reached, nothing more.
    /// Characters are counted as Unicode scalars (an emoji sequence may count as several).
    mutating func take(_ text: String) -> String {
        guard !cut else { return "" }
        let count = Self.scalarCount(text)
        if used + count <= cap {
            used += count
            return text
        }
        cut = true
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.unicodeScalars.prefix(max(cap - used, 0)))
        used = cap
        return String(kept)
    }

    // MARK: Helpers

    /// How many Unicode scalars a text holds: its UTF-8 bytes that do not continue a scalar (a loop
    /// the compiler vectorizes; walking the scalars was a visible part of a large report's build).
    static func scalarCount(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
            return count
        }
    }

    /// All text under a node, iteratively (no recursion, whatever the depth).
    static func text(of node: JiraValue) -> String {
        var output = ""
        var stack: [JiraValue] = [node]
        while let next = stack.popLast() {
            if let text = next["text"]?.string { output += text }
            if case .array(let children) = next["content"] { stack.append(contentsOf: children.reversed()) }
            if output.count > 100_000 { break }
        }
        return output
    }

    /// A link target a page may carry: `http`, `https` or `mailto` only, without spaces.
    static func safeURL(_ text: String?) -> String? {
        guard let text, text.count <= 2048, !text.contains(where: { $0.isWhitespace }) else { return nil }
        let lower = text.lowercased()
        return lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("mailto:") ? text : nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
