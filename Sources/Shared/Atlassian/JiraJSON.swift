public import Foundation

/// A strict JSON reader (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259) that builds `JiraValue`s
/// straight from the bytes of Jira's answers. `JSONDecoder` read a search page through its generic
/// `Decodable` machinery, trying each JSON type in turn for every value: measured on a worker, that was
/// 45 % of its CPU per report run (BENCHMARKS.md, "What a run costs"). This reader accepts exactly
/// what the RFC allows: one value with optional whitespace around it, strings of valid UTF-8 with no
/// raw control character and no unpaired surrogate escape, finite numbers; it refuses nesting deeper
/// than `maxDepth` (a hostile answer cannot exhaust the stack). A repeated object member keeps its first
/// value, as `JSONDecoder` does. `Fuzz/ReportsFuzz` checks it against `JSONDecoder` on every input.
package struct JiraJSON {
    package struct Malformed: Error, Equatable {
        /// Where the reader stopped, as a byte offset (never the text around it: it can be issue content).
        package let offset: Int
    }

    package static let maxDepth = 512

    /// The one value `data` holds.
    package static func parse(_ data: Data) throws(Malformed) -> JiraValue {
        let result: Result<JiraValue, Malformed> = data.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            do throws(Malformed) {
                reader.skipWhitespace()
                let value = try reader.value(depth: 0)
                reader.skipWhitespace()
                guard reader.position == reader.bytes.count else { throw Malformed(offset: reader.position) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        private var malformed: Malformed { Malformed(offset: position) }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(Malformed) -> JiraValue {
            guard position < bytes.count else { throw malformed }
            switch bytes[position] {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "{"): return .object(try object(depth: depth + 1))
            case UInt8(ascii: "["): return .array(try array(depth: depth + 1))
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default: return .number(try number())
            }
        }

        private mutating func literal(_ word: StaticString) throws(Malformed) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - position >= count else { throw malformed }
            for index in 0..<count where bytes[position + index] != word.utf8Start[index] { throw malformed }
            position += count
        }

        private mutating func object(depth: Int) throws(Malformed) -> JiraObject {
            guard depth <= JiraJSON.maxDepth else { throw malformed }
            position += 1
            var members: [JiraObject.Member] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return JiraObject(members: members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw malformed }
                let key = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw malformed }
                position += 1
                skipWhitespace()
                members.append((key: key, value: try value(depth: depth)))
                skipWhitespace()
                guard position < bytes.count else { throw malformed }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return JiraObject(members: members)
                } else {
                    throw malformed
                }
            }
        }

        private mutating func array(depth: Int) throws(Malformed) -> [JiraValue] {
            guard depth <= JiraJSON.maxDepth else { throw malformed }
            position += 1
            var elements: [JiraValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return elements
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw malformed }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return elements
                } else {
                    throw malformed
                }
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as the nearest Double.
        private mutating func number() throws(Malformed) -> Double {
            let start = position
            func digits(_ reader: inout Reader) -> Int {
                let first = reader.position
                while reader.position < reader.bytes.count, (0x30...0x39).contains(reader.bytes[reader.position]) {
                    reader.position += 1
                }
                return reader.position - first
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { throw malformed }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else if digits(&self) == 0 {
                throw malformed
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits(&self) > 0 else { throw malformed }
            }
            if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                guard digits(&self) > 0 else { throw malformed }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw Malformed(offset: start) }
            return value
        }

        /// A string from its opening quote: the bytes as they are when nothing is escaped (checked to be
        /// UTF-8), else built piece by piece.
        private mutating func string() throws(Malformed) -> String {
            position += 1
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                    guard let text else { throw Malformed(offset: start) }
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
                guard byte >= 0x20 else { throw malformed }
                position += 1
            }
            throw malformed
        }

        private mutating func escapedString(from start: Int) throws(Malformed) -> String {
            var utf8: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let text = String(validating: utf8, as: UTF8.self) else { throw Malformed(offset: start) }
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw malformed }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                    default: throw Malformed(offset: position - 1)
                    }
                default:
                    guard byte >= 0x20 else { throw malformed }
                    utf8.append(byte)
                    position += 1
                }
            }
            throw malformed
        }

        /// The scalar of `\uXXXX` (after the `u`), a surrogate pair joined; an unpaired surrogate is refused.
        private mutating func unicodeEscape() throws(Malformed) -> [UInt8] {
            let high = try hex4()
            var scalarValue = UInt32(high)
            if (0xD800...0xDBFF).contains(high) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw malformed }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw malformed }
                scalarValue = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(high) {
                throw malformed
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw malformed }
            return Array(String(Character(scalar)).utf8)
        }

        private mutating func hex4() throws(Malformed) -> UInt16 {
            guard bytes.count - position >= 4 else { throw malformed }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw malformed
                }
                value = value << 4 | UInt16(digit)
                position += 1
            }
            return value
        }
    }
}
