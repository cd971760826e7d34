import Rendering

/// `RichText` in OneNote's XHTML subset (docs/microsoft-apis.md §3.2, §3.4): paragraphs, headings,
/// lists, preformatted code, links, bold, italic, underline, struck-through text and coloured spans;
/// nothing else. A quote is a grey italic block, a rule a grey line, a status lozenge its text in
/// capitals on Jira's colour. Headings are two steps smaller than Jira's (`h1` → `h3`), so a cell's
/// headings stay below the page's own. Every string is escaped.
enum RichTextMarkup {
    /// The elements a rich cell may hold, and the attributes on them (the fuzz target checks this).
    static let elements: Set<String> = [
        "p", "br", "a", "b", "i", "u", "del", "span", "div", "pre", "ul", "ol", "li", "h3", "h4", "h5", "h6",
    ]
    static let attributes: Set<String> = ["href", "style"]

    static func write(_ text: RichText, into output: inout MarkupBuffer) {
        blocks(text.blocks, into: &output)
        if let continuation = text.continuation {
            output.raw("<p>… <a href=\"")
            output.text(continuation)
            output.raw("\">Open in Jira</a></p>")
        }
    }

    static let headingTags: [(open: StaticString, close: StaticString)] = [
        ("<h3>", "</h3>"), ("<h4>", "</h4>"), ("<h5>", "</h5>"), ("<h6>", "</h6>"),
    ]

    static func blocks(_ items: [RichText.Block], into output: inout MarkupBuffer) {
        for block in items {
            switch block {
            case .paragraph(let items):
                output.raw("<p>")
                inlines(items, into: &output)
                output.raw("</p>")
            case .heading(let level, let items):
                let tag = headingTags[min(max(level, 1), 4) - 1]
                output.raw(tag.open)
                inlines(items, into: &output)
                output.raw(tag.close)
            case .list(let ordered, let items):
                output.raw(ordered ? "<ol>" : "<ul>")
                for item in items {
                    output.raw("<li>")
                    listItem(item, into: &output)
                    output.raw("</li>")
                }
                output.raw(ordered ? "</ol>" : "</ul>")
            case .code(let text):
                output.raw("<pre>")
                output.text(text)
                output.raw("</pre>")
            case .quote(let inner):
                output.raw("<div style=\"color:#5E6C84;font-style:italic\">")
                blocks(inner, into: &output)
                output.raw("</div>")
            case .rule:
                output.raw("<p style=\"color:#A5ADBA\">──────────</p>")
            }
        }
    }

    /// A list item's paragraphs run inline, one line each; its other blocks (a nested list) follow.
    static func listItem(_ item: [RichText.Block], into output: inout MarkupBuffer) {
        var first = true
        for block in item {
            if case .paragraph(let items) = block {
                if !first { output.raw("<br/>") }
                inlines(items, into: &output)
            } else {
                blocks([block], into: &output)
            }
            first = false
        }
    }

    static let styleTags: [(RichText.Style, open: StaticString, close: StaticString)] = [
        (.bold, "<b>", "</b>"), (.italic, "<i>", "</i>"), (.underline, "<u>", "</u>"), (.strike, "<del>", "</del>"),
        (.code, "<span style=\"font-family:Consolas\">", "</span>"),
    ]

    static func inlines(_ items: [RichText.Inline], into output: inout MarkupBuffer) {
        for item in items {
            switch item {
            case .text(let text, let style):
                if style.isEmpty {
                    output.text(text)
                    continue
                }
                for tag in styleTags where style.contains(tag.0) { output.raw(tag.open) }
                output.text(text)
                for tag in styleTags.reversed() where style.contains(tag.0) { output.raw(tag.close) }
            case .link(let text, let url):
                output.raw("<a href=\"")
                output.text(url)
                output.raw("\">")
                output.text(text)
                output.raw("</a>")
            case .lozenge(let text, let colour):
                output.raw("<span style=\"font-weight:bold;color:")
                output.raw(lozengeColour(colour))
                output.raw("\">")
                output.text(text.uppercased())
                output.raw("</span>")
            case .lineBreak:
                output.raw("<br/>")
            }
        }
    }

    /// Jira's lozenge colours, dark enough to read as text on white.
    static func lozengeColour(_ name: String) -> StaticString {
        switch name {
        case "purple": "#403294"
        case "blue": "#0747A6"
        case "red": "#BF2600"
        case "yellow": "#B65C02"
        case "green": "#006644"
        default: "#42526E"
        }
    }
}
