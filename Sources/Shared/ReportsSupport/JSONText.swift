import Foundation

/// A small JSON writer for `[String: Any]` trees of strings, numbers, booleans, nulls, arrays and
/// objects, keys sorted. Foundation's `JSONSerialization` with sorted keys compares keys through
/// `NSString` and the locale, which made it most of an API request's cost on Linux.
public enum JSONText {
    /// `escapeAngleBrackets` writes `<` as `\u003c`, so a response is inert even if something renders
    /// it as HTML; logs keep it readable.
    public static func serialize(_ value: Any, escapeAngleBrackets: Bool = true) -> String {
        var output = ""
        output.reserveCapacity(256)
        let writer = Writer(escapeAngleBrackets: escapeAngleBrackets)
        writer.write(value, into: &output)
        return output
    }

    private struct Writer {
        let escapeAngleBrackets: Bool

        func write(_ value: Any, into output: inout String) {
            // A number `JSONSerialization` read: 1 and 0 also cast to Bool, so a boolean is told apart by
            // its own class's type code ("c"), a fraction by "d" or "f". Told by its metatype first: a
            // cast to `NSNumber` would box every Swift value it tried.
            if type(of: value) is NSNumber.Type, let number = value as? NSNumber {
                switch String(cString: number.objCType) {
                case "c": output += number.boolValue ? "true" : "false"
                case "d", "f": output += JSONText.number(number.doubleValue)
                default: output += String(number.int64Value)
                }
                return
            }
            switch value {
            case let string as String:
                writeString(string, into: &output)
            case let string as Substring:
                writeString(String(string), into: &output)
            case let bool as Bool:
                output += bool ? "true" : "false"
            case let int as Int:
                output += String(int)
            case let int as Int64:
                output += String(int)
            case let double as Double:
                output += JSONText.number(double)
            case let dictionary as [String: Any]:
                output += "{"
                var first = true
                for key in dictionary.keys.sorted() {
                    if !first { output += "," }
                    first = false
                    writeString(key, into: &output)
                    output += ":"
                    write(dictionary[key]!, into: &output)
                }
                output += "}"
            case let array as [Any]:
                output += "["
                for (index, element) in array.enumerated() {
                    if index > 0 { output += "," }
                    write(element, into: &output)
                }
                output += "]"
            case is NSNull:
                output += "null"
            default:
                output += "null"
            }
        }

        func writeString(_ string: String, into output: inout String) {
            JSONText.appendString(string, to: &output, escapeAngleBrackets: escapeAngleBrackets)
        }
    }

    /// A double as the writer prints it: whole numbers without a fraction, non-finite as null.
    static func number(_ double: Double) -> String {
        double.isFinite
            ? (double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : String(double)) : "null"
    }

    /// `string` as a JSON string literal, appended to `output`.
    static func appendString(_ string: String, to output: inout String, escapeAngleBrackets: Bool) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "<" where escapeAngleBrackets: output += "\\u003c"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
