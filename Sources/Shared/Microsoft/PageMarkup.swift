import Foundation

/// The elements of a page as OneNote returns it (output HTML, docs/page-identity.md), read by a
/// tokenizer that follows HTML's rules for tags rather than by searching the text: markup that is only
/// text — an issue summary reading `<p data-id="onenote-reports-…">`, escaped or not, a `>` inside an
/// attribute value, a comment, the title — is never taken for an element. So a report's marker counts
/// only as the `data-id` attribute of a real element, and a summary cannot steer the recovery of a lost
/// create onto another report's page.
enum PageMarkup {
    struct StartTag: Equatable {
        let name: String
        /// Decoded values; a repeated attribute keeps its first value, as HTML parsers do.
        let attributes: [String: String]
        /// Written `<name … />`.
        var selfClosing = false
    }

    /// A page read in order, for what lies between tags (the notes people typed into a report).
    enum Token: Equatable {
        case start(StartTag)
        case end(String)
        /// Decoded text.
        case text(String)
    }

    /// The page as tags and text, by the same rules as `startTags`; comments, doctypes and the
    /// content of raw-text elements (scripts, styles, the title) are left out.
    static func tokens(_ html: String) -> [Token] {
        var reader = Reader(Array(html.utf8))
        var tokens: [Token] = []
        var textStart = 0
        func flushText(upTo end: Int) {
            if end > textStart {
                tokens.append(.text(decode(String(decoding: reader.bytes[textStart..<end], as: UTF8.self))))
            }
        }
        while let open = reader.next(UInt8(ascii: "<")) {
            reader.position = open + 1
            if reader.skip("!--") {
                flushText(upTo: open)
                reader.skipPast("-->")
            } else if reader.peek == UInt8(ascii: "/") {
                flushText(upTo: open)
                reader.position += 1
                let start = reader.position
                while let byte = reader.peek, Reader.isNameByte(byte) { reader.position += 1 }
                tokens.append(.end(String(decoding: reader.bytes[start..<reader.position], as: UTF8.self).lowercased()))
                reader.skipPast(">")
            } else if reader.peek == UInt8(ascii: "!") || reader.peek == UInt8(ascii: "?") {
                flushText(upTo: open)
                reader.skipPast(">")
            } else if let first = reader.peek, Reader.isLetter(first) {
                flushText(upTo: open)
                let tag = reader.startTag()
                if textOnly.contains(tag.name) {
                    reader.skipPastEndTag(tag.name)
                } else {
                    tokens.append(.start(tag))
                }
            } else {
                continue  // a "<" that starts no tag is text
            }
            textStart = reader.position
        }
        flushText(upTo: reader.bytes.count)
        return tokens
    }

    /// `data-id` → generated `id` of the elements that carry both (OneNote's `includeIDs=true` output).
    static func elementIds(byDataId html: String) -> [String: String] {
        var ids: [String: String] = [:]
        for tag in startTags(html) {
            guard let dataId = tag.attributes["data-id"], let id = tag.attributes["id"] else { continue }
            ids[dataId] = id
        }
        return ids
    }

    /// Whether an element of the page has exactly this `data-id`.
    static func hasElement(dataId: String, in html: String) -> Bool {
        startTags(html).contains { $0.attributes["data-id"] == dataId }
    }

    /// Elements whose content is text up to their end tag (HTML's raw text and RCDATA elements).
    private static let textOnly: Set<String> = ["script", "style", "title", "textarea", "xmp", "iframe", "noembed"]

    static func startTags(_ html: String) -> [StartTag] {
        var reader = Reader(Array(html.utf8))
        var tags: [StartTag] = []
        while let open = reader.next(UInt8(ascii: "<")) {
            reader.position = open + 1
            if reader.skip("!--") {
                reader.skipPast("-->")
            } else if reader.peek == UInt8(ascii: "!") || reader.peek == UInt8(ascii: "?")
                || reader.peek == UInt8(ascii: "/")
            {
                reader.skipPast(">")  // doctype, processing instruction or end tag
            } else if let first = reader.peek, Reader.isLetter(first) {
                let tag = reader.startTag()
                tags.append(tag)
                if textOnly.contains(tag.name) { reader.skipPastEndTag(tag.name) }
            }
        }
        return tags
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        func next(_ byte: UInt8) -> Int? { bytes[position...].firstIndex(of: byte) }

        mutating func skip(_ text: String) -> Bool {
            let count = text.utf8.count
            guard bytes.count - position >= count, bytes[position..<position + count].elementsEqual(text.utf8)
            else { return false }
            position += count
            return true
        }

        mutating func skipPast(_ text: String) {
            while position < bytes.count {
                if skip(text) { return }
                position += 1
            }
        }

        mutating func skipPastEndTag(_ name: String) {
            while let open = next(UInt8(ascii: "<")) {
                position = open + 1
                guard skip("/") else { continue }
                let start = position
                while let byte = peek, Self.isNameByte(byte) { position += 1 }
                if String(decoding: bytes[start..<position], as: UTF8.self).lowercased() == name {
                    skipPast(">")
                    return
                }
            }
            position = bytes.count
        }

        static func isLetter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
        }

        static func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D
        }

        static func isNameByte(_ byte: UInt8) -> Bool {
            !isSpace(byte) && byte != UInt8(ascii: "/") && byte != UInt8(ascii: ">")
        }

        /// At a tag's name: reads the name and its attributes up to and including the closing `>`.
        mutating func startTag() -> StartTag {
            let start = position
            while let byte = peek, Self.isNameByte(byte) { position += 1 }
            let name = String(decoding: bytes[start..<position], as: UTF8.self).lowercased()
            var attributes: [String: String] = [:]
            var slash = false
            while let byte = peek {
                if Self.isSpace(byte) || byte == UInt8(ascii: "/") {
                    slash = byte == UInt8(ascii: "/")
                    position += 1
                    continue
                }
                if byte == UInt8(ascii: ">") {
                    position += 1
                    break
                }
                slash = false
                let nameStart = position
                position += 1  // an attribute name may start with "=" in HTML
                while let byte = peek, Self.isNameByte(byte), byte != UInt8(ascii: "=") { position += 1 }
                let attribute = String(decoding: bytes[nameStart..<position], as: UTF8.self).lowercased()
                while let byte = peek, Self.isSpace(byte) { position += 1 }
                var value = ""
                if peek == UInt8(ascii: "=") {
                    position += 1
                    while let byte = peek, Self.isSpace(byte) { position += 1 }
                    value = PageMarkup.decode(readValue())
                }
                if attributes[attribute] == nil { attributes[attribute] = value }
            }
            return StartTag(name: name, attributes: attributes, selfClosing: slash)
        }

        private mutating func readValue() -> String {
            guard let quote = peek else { return "" }
            if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                position += 1
                let start = position
                let end = bytes[position...].firstIndex(of: quote) ?? bytes.count
                position = min(end + 1, bytes.count)
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
            let start = position
            while let byte = peek, !Self.isSpace(byte), byte != UInt8(ascii: ">") { position += 1 }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
    }

    /// Character references in an attribute value or text: the five named ones, `&nbsp;` and numeric
    /// ones; any other `&` stays as it is. Read as UTF-8 bytes (a reference is ASCII), so a page of
    /// megabytes decodes without walking its characters.
    static func decode(_ text: String) -> String {
        let ampersand = UInt8(ascii: "&")
        guard text.utf8.contains(ampersand) else { return text }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            guard bytes[index] == ampersand else {
                output.append(bytes[index])
                index += 1
                continue
            }
            // A reference ends with ";" within 12 bytes of its "&".
            let window = bytes[(index + 1)..<min(index + 12, bytes.count)]
            if let semicolon = window.firstIndex(of: UInt8(ascii: ";")),
                let replacement = reference(String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self))
            {
                output.append(contentsOf: replacement.utf8)
                index = semicolon + 1
            } else {
                output.append(ampersand)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The text a reference's name (between "&" and ";") stands for, nil for a name it is not.
    private static func reference(_ name: String) -> String? {
        switch name {
        case "quot": return "\""
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "apos": return "'"
        case "nbsp": return "\u{00A0}"
        default:
            let scalar: Unicode.Scalar?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
            } else if name.hasPrefix("#") {
                scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init)
            } else {
                scalar = nil
            }
            return scalar.map { String(Character($0)) }
        }
    }
}
