/// Formatted text for one cell, for any destination: what Jira's rich text (Atlassian Document Format,
/// docs/jira-fields.md) says, in the few shapes a page can show. Built only from Jira's structure,
/// never from its markup: every string here is plain text that a destination escapes.
public struct RichText: Sendable, Equatable {
    public enum Block: Sendable, Equatable {
        case paragraph([Inline])
        /// Jira's heading levels 1–6.
        case heading(level: Int, [Inline])
        /// Each item is its own blocks (a nested list is a block of the item).
        case list(ordered: Bool, items: [[Block]])
        /// Preformatted text, kept as written.
        case code(String)
        case quote([Block])
        case rule
    }

    public enum Inline: Sendable, Equatable {
        case text(String, Style)
        /// Text that links to `url` (only `http`, `https` and `mailto` addresses become links).
        case link(String, url: String)
        /// A status lozenge: its text on its colour (Jira's `neutral`, `purple`, `blue`, `red`,
        /// `yellow`, `green`).
        case lozenge(String, colour: String)
        case lineBreak
    }

    public struct Style: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let bold = Style(rawValue: 1)
        public static let italic = Style(rawValue: 2)
        public static let code = Style(rawValue: 4)
        public static let strike = Style(rawValue: 8)
        public static let underline = Style(rawValue: 16)
    }

    public var blocks: [Block]
    /// Set when the text was cut at the cell's cap: where the rest is read (the issue in Jira).
    public var continuation: String?

    /// The text alone, as a person would copy it (for comparisons and a destination without markup).
    public var plainText: String {
        var output = ""
        func inlines(_ items: [Inline]) {
            for item in items {
                switch item {
                case .text(let text, _), .link(let text, _), .lozenge(let text, _): output += text
                case .lineBreak: output += "\n"
                }
            }
        }
        func blocks(_ items: [Block]) {
            for block in items {
                if !output.isEmpty && !output.hasSuffix("\n") { output += "\n" }
                switch block {
                case .paragraph(let items), .heading(_, let items): inlines(items)
                case .list(_, let entries): entries.forEach(blocks)
                case .code(let text): output += text
                case .quote(let inner): blocks(inner)
                case .rule: output += "—"
                }
            }
        }
        blocks(self.blocks)
        return continuation == nil ? output : output + "…"
    }
}
