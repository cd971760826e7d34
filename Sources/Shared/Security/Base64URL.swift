public import Foundation

/// Base64url without padding (RFC 4648 §5), as JWTs and our OAuth state use it. Byte-level: it sits on
/// the FIT hot path, where Foundation's string replacing cost more than the RSA check.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: some DataProtocol) -> String {
        let input = Array(bytes)
        var output = [UInt8]()
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict: only the base64url alphabet, no padding, no length that cannot occur, and only the one
    /// canonical spelling of each value (unused low bits zero), so a token cannot be altered into
    /// another text that decodes to the same bytes.
    public static func decode(_ text: some StringProtocol) -> Data? {
        decode(bytes: text.utf8)
    }

    public static func decode(bytes text: some Collection<UInt8>) -> Data? {
        var bits: UInt32 = 0
        var bitCount = 0
        var output = Data()
        output.reserveCapacity(text.count * 3 / 4)
        for byte in text {
            let value = values[Int(byte)]
            guard value != 0xFF else { return nil }
            bits = bits << 6 | UInt32(value)
            bitCount += 6
            if bitCount >= 8 {
                bitCount -= 8
                output.append(UInt8(truncatingIfNeeded: bits >> UInt32(bitCount)))
                bits &= (1 << UInt32(bitCount)) - 1
            }
        }
        // 2 or 4 leftover bits are padding and must be zero; 6 means a length that cannot occur.
        guard bitCount < 6, bits == 0 else { return nil }
        return output
    }

    /// Whether `text` is canonical base64url, without decoding it.
    static func isCanonical(_ text: some StringProtocol) -> Bool {
        isCanonical(bytes: text.utf8)
    }

    static func isCanonical(bytes text: some Collection<UInt8>) -> Bool {
        var last: UInt8 = 0
        var count = 0
        for byte in text {
            last = values[Int(byte)]
            guard last != 0xFF else { return false }
            count += 1
        }
        switch count % 4 {
        case 1: return false
        case 2: return last & 0x0F == 0
        case 3: return last & 0x03 == 0
        default: return true
        }
    }
}
