/// XHTML written as UTF-8 bytes: a report of thousands of rows is one buffer, appended to, never a
/// string rebuilt per cell. `text` escapes what XML would read as markup and replaces the characters
/// XML 1.0 cannot carry (control characters other than tab, line feed and carriage return; U+FFFE and
/// U+FFFF) with U+FFFD, so whatever the input, the output is well-formed.
struct MarkupBuffer {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }
    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Markup of our own, as it is.
    mutating func raw(_ markup: StaticString) {
        markup.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Markup of our own built at run time (numbers, colours we chose), as it is.
    mutating func raw(_ markup: String) {
        bytes.append(contentsOf: markup.utf8)
    }

    mutating func append(_ other: MarkupBuffer) {
        bytes.append(contentsOf: other.bytes)
    }

    /// Text from outside, escaped: safe inside an element and inside a double-quoted attribute.
    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { source in
            var start = 0
            var index = 0
            let count = source.count
            while index < count {
                let byte = source[index]
                var replacement: StaticString?
                var width = 1
                switch byte {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case UInt8(ascii: "\""): replacement = "&quot;"
                case 0x09, 0x0A, 0x0D: break
                case 0x00..<0x20: replacement = "\u{FFFD}"
                case 0xEF where index + 2 < count && source[index + 1] == 0xBF && source[index + 2] >= 0xBE:
                    replacement = "\u{FFFD}"  // U+FFFE, U+FFFF
                    width = 3
                default: break
                }
                if let replacement {
                    if start < index { bytes.append(contentsOf: source[start..<index]) }
                    replacement.withUTF8Buffer { bytes.append(contentsOf: $0) }
                    index += width
                    start = index
                } else {
                    index += 1
                }
            }
            if start < count { bytes.append(contentsOf: source[start..<count]) }
        }
    }
}
