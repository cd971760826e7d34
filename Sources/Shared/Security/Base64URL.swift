public import Foundation

/// Base64url without padding (RFC 4648 §5), as JWTs and our OAuth state use it.
public enum Base64URL {
    public static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Strict: only the base64url alphabet, no padding, no length that cannot occur, and only the one
    /// canonical spelling of each value (unused low bits zero), so a token cannot be altered into
    /// another text that decodes to the same bytes.
    public static func decode(_ text: some StringProtocol) -> Data? {
        guard let data = decodeLenient(text), encode(data) == text else { return nil }
        return data
    }

    private static func decodeLenient(_ text: some StringProtocol) -> Data? {
        var base64 = ""
        base64.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                base64.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "-"): base64.append("+")
            case UInt8(ascii: "_"): base64.append("/")
            default: return nil
            }
        }
        switch base64.utf8.count % 4 {
        case 1: return nil
        case 2: base64 += "=="
        case 3: base64 += "="
        default: break
        }
        return Data(base64Encoded: base64)
    }
}
