/// A cell's 32-bit hash for the snapshot (`ReportSnapshot`): over its kind and text, a formatted
/// cell over its structure, styles and text, walked in place (no text is built for it).
///
/// FNV-1a's xor-then-multiply, 64 bits, taken eight bytes of UTF-8 at a time rather than one (a run of
/// 5,000 rich rows hashes about 3.5 MB, so a byte at a time cost milliseconds a run), then a final mix
/// folded to 32 bits. Each text is followed by its length, so ("ab", "c") and ("a", "bc") differ. Only
/// equality matters: two runs compare hashes made by the same code (the snapshot's version says which).
struct CellHash {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    static func of(_ cell: ReportDocument.Cell) -> UInt32 {
        var hash = CellHash()
        switch cell {
        case .empty:
            hash.tag(1)
        case .text(let text):
            hash.tag(2)
            hash.add(text)
        case .link(let text, let url):
            hash.tag(3)
            hash.add(text)
            hash.add(url)
        case .status(let name, let category):
            hash.tag(4)
            hash.add(name)
            hash.add(category)
        case .rich(let text):
            hash.tag(5)
            hash.add(text.blocks)
            hash.add(text.continuation ?? "")
        }
        return hash.value
    }

    /// The state mixed (the 64-bit finalizer of Murmur hash, version 3) and folded to 32 bits.
    var value: UInt32 {
        var mixed = state
        mixed ^= mixed >> 33
        mixed = mixed &* 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        mixed = mixed &* 0xc4ce_b9fe_1a85_ec53
        mixed ^= mixed >> 33
        return UInt32(truncatingIfNeeded: mixed ^ (mixed >> 32))
    }

    private mutating func word(_ word: UInt64) {
        state = (state ^ word) &* 0x0000_0100_0000_01b3
    }

    /// A marker of structure, apart from any text's words (a text's length word is below 2^32).
    private mutating func tag(_ tag: UInt8) {
        word(0xA5A5_0000_0000_0000 | UInt64(tag))
    }

    mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            var offset = 0
            while raw.count - offset >= 8 {
                word(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            if offset < raw.count {
                var tail: UInt64 = 0
                for (shift, byte) in raw[offset...].enumerated() { tail |= UInt64(byte) << (8 * UInt64(shift)) }
                word(tail)
            }
            word(UInt64(raw.count))
        }
    }

    mutating func add(_ blocks: [RichText.Block]) {
        for block in blocks {
            switch block {
            case .paragraph(let items):
                tag(10)
                add(items)
            case .heading(let level, let items):
                tag(11)
                word(UInt64(truncatingIfNeeded: level))
                add(items)
            case .list(let ordered, let entries):
                tag(ordered ? 12 : 13)
                for entry in entries {
                    add(entry)
                    tag(14)
                }
            case .code(let text):
                tag(15)
                add(text)
            case .quote(let inner):
                tag(16)
                add(inner)
            case .rule:
                tag(17)
            }
        }
        tag(18)
    }

    mutating func add(_ items: [RichText.Inline]) {
        for item in items {
            switch item {
            case .text(let text, let style):
                tag(20)
                word(UInt64(style.rawValue))
                add(text)
            case .link(let text, let url):
                tag(21)
                add(text)
                add(url)
            case .lozenge(let text, let colour):
                tag(22)
                add(text)
                add(colour)
            case .lineBreak:
                tag(23)
            }
        }
    }
}
