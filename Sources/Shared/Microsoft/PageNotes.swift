import Rendering

/// The notes people typed into a report's page in OneNote, read back before the page is written again
/// (docs/report-page.md, "Notes that survive"): in every table of the report's parts whose last header
/// reads "Notes", each row's note by its issue key (the row's first cell; a child row's indent and
/// "↳" do not count). The orphan table at the bottom ("Notes on issues no longer in this report") is
/// read the same way, so a note there returns to its row if the issue comes back.
///
/// A note is kept as XHTML made only of the elements and attributes OneNote's editor writes for text
/// (paragraphs, line breaks, bold, italic, underline, strike, colour, lists, links, its note tags such
/// as to-do boxes, small tables), every other tag dropped with its text kept, and every text escaped
/// again: it is written back into the page as it was typed, and nothing in it can break the page.
/// Images and files in a note cell are not carried over (their addresses are OneNote's own).
/// Never logged: notes are page content.
package struct PageNotes: Equatable {
    /// The note of each issue, as sanitized XHTML.
    package var byKey: [String: String] = [:]

    package init() {}

    package static let header = "Notes"

    package static func read(_ html: String) -> PageNotes {
        var notes = PageNotes()
        var reader = TableReader()
        var open: [String] = []  // elements open around the reader, to know where a part ends
        var partDepth: Int?
        for token in PageMarkup.tokens(html) {
            switch token {
            case .start(let tag):
                if partDepth == nil, tag.attributes["data-id"]?.hasPrefix(OneNotePageRenderer.tableDataId) == true {
                    partDepth = open.count
                }
                if !tag.selfClosing && !Self.void.contains(tag.name) { open.append(tag.name) }
                if partDepth != nil { reader.start(tag) }
            case .end(let name):
                guard let index = open.lastIndex(of: name) else { continue }
                open.removeSubrange(index...)
                if partDepth != nil { reader.end(name, into: &notes) }
                if let depth = partDepth, open.count <= depth { partDepth = nil }
            case .text(let text):
                if partDepth != nil { reader.text(text) }
            }
        }
        return notes
    }

    /// Adds a note; a key noted twice (a row in two parts while a crash left the page half written)
    /// keeps both, so nothing typed is lost.
    package mutating func add(_ note: String, for key: String) {
        guard let existing = byKey[key] else {
            byKey[key] = note
            return
        }
        if !existing.contains(note) { byKey[key] = existing + note }
    }

    static let void: Set<String> = ["br", "img", "meta", "hr", "input", "link", "col", "wbr", "source"]

    /// An issue key as Jira writes one (`OPS-12`).
    static func isIssueKey(_ text: String) -> Bool {
        guard let dash = text.lastIndex(of: "-"), dash > text.startIndex else { return false }
        let project = text[..<dash]
        let number = text[text.index(after: dash)...]
        return !number.isEmpty && number.allSatisfy(\.isASCIIDigit)
            && project.first?.isUppercase == true
            && project.allSatisfy { ($0.isASCII && ($0.isUppercase || $0.isNumber)) || $0 == "_" }
    }

    /// A first cell's text without a child row's marks.
    static func rowKey(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.filter {
                    $0 != "\u{2003}" && $0 != "\u{21B3}" && $0 != " " && $0 != "\u{00A0}" && $0 != "\n"
                })
        )
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Reads the top-level tables of a report's parts, row by row as they end: the first row's headers
/// (to find the "Notes" column), then per row its first cell's text and its notes cell's markup,
/// sanitized as it is read. Other cells are only counted: a 5,000-row page has some 50,000 of them.
private struct TableReader {
    private var tableDepth = 0
    /// Whether the table's first row has ended, and the last of its cells that reads "Notes".
    private var headerRead = false
    private var noteColumn: Int?
    /// The open row's cells so far, and the open cell's place in it (nil between cells).
    private var cellCount = 0
    private var cellIndex: Int?
    private var inRow = false
    /// The open cell's text, kept for a header cell and a row's first cell.
    private var text = ""
    private var key = ""
    private var note: NoteMarkup?
    private var rowNote: NoteMarkup?

    /// Whether this cell's text or markup is read at all.
    private var readsText: Bool { !headerRead || cellIndex == 0 }

    mutating func start(_ tag: PageMarkup.StartTag) {
        if tag.name == "table" {
            tableDepth += 1
            if tableDepth == 1 {
                (headerRead, noteColumn, inRow, cellIndex) = (false, nil, false, nil)
                return
            }
        }
        guard tableDepth >= 1, !(headerRead && noteColumn == nil) else { return }
        if tableDepth == 1 && tag.name == "tr" {
            (inRow, cellCount, cellIndex, key, rowNote) = (true, 0, nil, "", nil)
        } else if tableDepth == 1 && (tag.name == "td" || tag.name == "th") && inRow {
            cellIndex = cellCount
            text = ""
            note = headerRead && cellCount == noteColumn ? NoteMarkup() : nil
        } else if cellIndex != nil {
            note?.start(tag)
        }
    }

    mutating func end(_ name: String, into notes: inout PageNotes) {
        guard tableDepth >= 1 else { return }
        if name == "table" && tableDepth == 1 {
            tableDepth = 0
            return
        }
        if name == "table" { tableDepth -= 1 }
        if tableDepth == 1 && (name == "td" || name == "th"), let index = cellIndex {
            finishCell(index)
        } else if tableDepth == 1 && name == "tr" && inRow {
            finishRow(into: &notes)
        } else if cellIndex != nil {
            note?.end(name)
        }
    }

    mutating func text(_ text: String) {
        guard cellIndex != nil else { return }
        if readsText { self.text += text }
        note?.text(text)
    }

    private mutating func finishCell(_ index: Int) {
        if !headerRead && text.trimmingSpaces == PageNotes.header { noteColumn = index }
        if headerRead && index == 0 { key = text }
        if let note { rowNote = note }
        (cellCount, cellIndex, note) = (cellCount + 1, nil, nil)
    }

    private mutating func finishRow(into notes: inout PageNotes) {
        inRow = false
        guard headerRead else {
            headerRead = true
            return
        }
        let key = PageNotes.rowKey(self.key)
        guard let column = noteColumn, column < cellCount, var markup = rowNote, PageNotes.isIssueKey(key),
            let note = markup.finished()
        else { return }
        notes.add(note, for: key)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop {
                    $0.properties.isWhitespace
                }.reversed()))
    }
}

/// A note's markup, rebuilt from what was read: allowed elements with allowed attributes, properly
/// nested, text escaped.
struct NoteMarkup {
    private var output = MarkupBuffer()
    private var open: [String] = []
    private var meaningful = false

    static let elements: Set<String> = [
        "p", "br", "b", "i", "u", "s", "strong", "em", "span", "a", "ul", "ol", "li", "sup", "sub", "del",
        "cite", "code", "pre", "table", "tr", "td",
    ]

    mutating func start(_ tag: PageMarkup.StartTag) {
        guard Self.elements.contains(tag.name) else { return }
        output.raw("<")
        output.raw(tag.name)
        for name in ["style", "data-tag", "href"] {
            guard let value = tag.attributes[name], Self.allowed(name, value, in: tag.name) else { continue }
            output.raw(" ")
            output.raw(name)
            output.raw("=\"")
            output.text(value)
            output.raw("\"")
            if name == "data-tag" { meaningful = true }
        }
        if tag.name == "br" {
            output.raw("/>")
            return
        }
        output.raw(">")
        if tag.selfClosing {
            output.raw("</\(tag.name)>")
        } else {
            open.append(tag.name)
        }
    }

    mutating func end(_ name: String) {
        guard let index = open.lastIndex(of: name) else { return }
        for closing in open[index...].reversed() { output.raw("</\(closing)>") }
        open.removeSubrange(index...)
    }

    mutating func text(_ text: String) {
        if text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) { meaningful = true }
        output.text(text)
    }

    /// The note, or nil when nothing was typed (only spaces and empty paragraphs).
    mutating func finished() -> String? {
        for closing in open.reversed() { output.raw("</\(closing)>") }
        open = []
        return meaningful ? output.string : nil
    }

    /// Styles of text only (no `url(`, no expressions); links to the web, mail or OneNote only.
    static func allowed(_ attribute: String, _ value: String, in element: String) -> Bool {
        switch attribute {
        case "href":
            guard element == "a" else { return false }
            let lower = value.lowercased()
            return lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("mailto:")
                || lower.hasPrefix("onenote:")
        case "style":
            let lower = value.lowercased()
            return value.count <= 300 && !lower.contains("url(") && !lower.contains("expression")
                && value.unicodeScalars.allSatisfy {
                    $0.properties.isAlphabetic || $0.properties.numericType != nil
                        || " :;#.,%()-'\"".unicodeScalars.contains($0)
                }
        case "data-tag":
            return value.count <= 100
                && value.unicodeScalars.allSatisfy {
                    $0.isASCII
                        && ($0.properties.isAlphabetic || $0.properties.numericType != nil
                            || ":-_,".unicodeScalars.contains($0))
                }
        default:
            return false
        }
    }
}
