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

    static func xhtml(_ text: RichText) -> String {
        var output = ""
        blocks(text.blocks, into: &output)
        if let continuation = text.continuation {
            output += "<p>… <a href=\"\(OneNotePageRenderer.escape(continuation))\">Open in Jira</a></p>"
        }
        return output
    }

    static func blocks(_ items: [RichText.Block], into output: inout String) {
        for block in items {
            switch block {
            case .paragraph(let items):
                output += "<p>"
                inlines(items, into: &output)
                output += "</p>"
            case .heading(let level, let items):
                let tag = "h\(min(level + 2, 6))"
                output += "<\(tag)>"
                inlines(items, into: &output)
                output += "</\(tag)>"
            case .list(let ordered, let items):
                let tag = ordered ? "ol" : "ul"
                output += "<\(tag)>"
                for item in items {
                    output += "<li>"
                    listItem(item, into: &output)
                    output += "</li>"
                }
                output += "</\(tag)>"
            case .code(let text):
                output += "<pre>\(OneNotePageRenderer.escape(text))</pre>"
            case .quote(let inner):
                output += "<div style=\"color:#5E6C84;font-style:italic\">"
                blocks(inner, into: &output)
                output += "</div>"
            case .rule:
                output += "<p style=\"color:#A5ADBA\">──────────</p>"
            }
        }
    }

    /// A list item's paragraphs run inline, one line each; its other blocks (a nested list) follow.
    static func listItem(_ item: [RichText.Block], into output: inout String) {
        var first = true
        for block in item {
            if case .paragraph(let items) = block {
                if !first { output += "<br/>" }
                inlines(items, into: &output)
            } else {
                blocks([block], into: &output)
            }
            first = false
        }
    }

    static func inlines(_ items: [RichText.Inline], into output: inout String) {
        for item in items {
            switch item {
            case .text(let text, let style):
                var open = ""
                var close = ""
                for (flag, tag) in [(RichText.Style.bold, "b"), (.italic, "i"), (.underline, "u"), (.strike, "del")]
                where style.contains(flag) {
                    open += "<\(tag)>"
                    close = "</\(tag)>" + close
                }
                if style.contains(.code) {
                    open += "<span style=\"font-family:Consolas\">"
                    close = "</span>" + close
                }
                output += open + OneNotePageRenderer.escape(text) + close
            case .link(let text, let url):
                output += "<a href=\"\(OneNotePageRenderer.escape(url))\">\(OneNotePageRenderer.escape(text))</a>"
            case .lozenge(let text, let colour):
                output +=
                    "<span style=\"font-weight:bold;color:\(lozengeColour(colour))\">\(OneNotePageRenderer.escape(text.uppercased()))</span>"
            case .lineBreak:
                output += "<br/>"
            }
        }
    }

    /// Jira's lozenge colours, dark enough to read as text on white.
    static func lozengeColour(_ name: String) -> String {
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
