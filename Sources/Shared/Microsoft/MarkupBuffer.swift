/// XHTML written as UTF-8 bytes: a report of thousands of rows is one buffer, appended to, never a
/// string rebuilt per cell. `text` escapes what XML would read as markup and replaces the characters
/// XML 1.0 cannot carry (control characters other than tab, line feed and carriage return; U+FFFE and
/// U+FFFF) with U+FFFD, so whatever the input, the output is well-formed.
///
/// The bytes are kept in an array sized ahead (its first `count` bytes are the markup, the rest room),
/// and each piece is copied into it as one block: appending pieces of a few bytes to a growing array
/// one `append(contentsOf:)` at a time cost more than the copying (a page is about 700,000 pieces).
/// Still a value: a copy of a buffer is a copy.
struct MarkupBuffer {
    private var storage: [UInt8]
    private(set) var count = 0

    init(capacity: Int = 0) { storage = [UInt8](repeating: 0, count: capacity) }

    var string: String {
        storage.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[..<count]), as: UTF8.self) }
    }

    mutating func removeAll() { count = 0 }

    /// Copies `source` after the markup, making room (doubling) when there is not enough.
    @inline(__always)
    private mutating func write(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress, !source.isEmpty else { return }
        let needed = count + source.count
        if needed > storage.count {
            storage.append(contentsOf: repeatElement(0, count: max(needed, storage.count * 2, 256) - storage.count))
        }
        let offset = count
        storage.withUnsafeMutableBytes { target in
            target.baseAddress!.advanced(by: offset).copyMemory(from: from, byteCount: source.count)
        }
        count = needed
    }

    /// Markup of our own, as it is.
    mutating func raw(_ markup: StaticString) {
        markup.withUTF8Buffer { write(UnsafeRawBufferPointer($0)) }
    }

    /// Markup of our own built at run time (numbers, colours we chose), as it is.
    mutating func raw(_ markup: String) {
        var markup = markup
        markup.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ other: MarkupBuffer) {
        other.storage.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[..<other.count])) }
    }

    /// Text from outside, escaped: safe inside an element and inside a double-quoted attribute.
    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { source in
            var start = 0
            var index = 0
            let count = source.count
            let raw = UnsafeRawBufferPointer(source)
            while index < count {
                // Eight bytes at a time while none of them needs a look (most text needs none).
                if index + 8 <= count,
                    !Self.mayNeedEscaping(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                {
                    index += 8
                    continue
                }
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
                    if start < index { write(UnsafeRawBufferPointer(rebasing: raw[start..<index])) }
                    replacement.withUTF8Buffer { write(UnsafeRawBufferPointer($0)) }
                    index += width
                    start = index
                } else {
                    index += 1
                }
            }
            if start < count { write(UnsafeRawBufferPointer(rebasing: raw[start..<count])) }
        }
    }

    /// False only when none of the word's eight bytes is one `text` may replace: a control character,
    /// `&`, `<`, `>`, `"` or 0xEF (the first byte of U+FFFE and U+FFFF). The usual test for a zero byte
    /// in a word ("Bit Twiddling Hacks", S. E. Anderson), after an xor with each byte looked for; it
    /// may say true for a word that needs nothing (the bytes are then looked at one by one), never false
    /// for one that does.
    @inline(__always)
    static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let below0x20 = (word &- ones &* 0x20) & ~word & highs
        return below0x20 | hasZero(word ^ (ones &* 0x26)) | hasZero(word ^ (ones &* 0x3C))
            | hasZero(word ^ (ones &* 0x3E)) | hasZero(word ^ (ones &* 0x22)) | hasZero(word ^ (ones &* 0xEF)) != 0
    }
}
