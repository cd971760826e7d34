public import Foundation

/// Finds a key that appears twice in one JSON object. `JSONSerialization` (and most parsers) keep the
/// last of two equal keys silently, so a body can say one thing to a check that reads the first and
/// another to code that reads the last; a request body with a repeated key is refused instead. Keys are
/// compared after their escapes are decoded (`"a"` and `"\u0061"` are the same key).
public enum JSONDuplicateKeys {
    /// The first repeated key, with the path of the object it repeats in (`schedule.cron`), or nil.
    /// Meant for text that already parsed as JSON; anything else gives nil.
    public static func first(in data: Data) -> String? {
        var reader = Reader(bytes: Array(data))
        return try? reader.value(path: [])
    }

    private struct Malformed: Error {}

    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        var depth = 0

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ byte: UInt8) throws {
            skipSpace()
            guard position < bytes.count, bytes[position] == byte else { throw Malformed() }
            position += 1
        }

        /// Reads one value; returns the first repeated key found inside it.
        mutating func value(path: [String]) throws -> String? {
            skipSpace()
            guard position < bytes.count else { throw Malformed() }
            depth += 1
            defer { depth -= 1 }
            guard depth < 1_000 else { throw Malformed() }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var keys: Set<String> = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return nil
                }
                while true {
                    skipSpace()
                    let key = try string()
                    if !keys.insert(key).inserted { return (path + [key]).joined(separator: ".") }
                    try expect(UInt8(ascii: ":"))
                    if let found = try value(path: path + [key]) { return found }
                    skipSpace()
                    guard position < bytes.count else { throw Malformed() }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "}") { return nil }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "["):
                position += 1
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return nil
                }
                while true {
                    if let found = try value(path: path) { return found }
                    skipSpace()
                    guard position < bytes.count else { throw Malformed() }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "]") { return nil }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "\""):
                _ = try string()
                return nil
            default:  // a number, true, false or null
                while position < bytes.count, !Self.ends(bytes[position]) { position += 1 }
                return nil
            }
        }

        static func ends(_ byte: UInt8) -> Bool {
            [UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D].contains(byte)
        }

        /// A string at the reader, escapes decoded.
        mutating func string() throws -> String {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw Malformed() }
            position += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flush() {
                units += String(decoding: raw, as: UTF8.self).utf16
                raw.removeAll()
            }
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(decoding: units, as: UTF16.self)
                case UInt8(ascii: "\\"):
                    flush()
                    guard position < bytes.count else { throw Malformed() }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0C)
                    case UInt8(ascii: "n"): units.append(0x0A)
                    case UInt8(ascii: "r"): units.append(0x0D)
                    case UInt8(ascii: "t"): units.append(0x09)
                    case UInt8(ascii: "u"):
                        guard position + 4 <= bytes.count,
                            let unit = UInt16(
                                String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
                        else { throw Malformed() }
                        position += 4
                        units.append(unit)
                    default: units.append(UInt16(escape))
                    }
                default:
                    raw.append(byte)
                }
            }
            throw Malformed()
        }
    }
}
