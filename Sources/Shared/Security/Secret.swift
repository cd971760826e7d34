/// A token, key or other secret. Every way Swift turns a value into text — `description`,
/// `debugDescription`, string interpolation, `dump`, `Encodable` — shows `<redacted>`; the value is
/// read only through `revealed`, at the moment of use.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable,
    Codable
{
    static let redacted = "<redacted>"

    private let value: String

    public init(_ value: String) { self.value = value }

    /// The secret itself. Never log it, put it in an error, or store it other than as ciphertext.
    public var revealed: String { value }

    public var isEmpty: Bool { value.isEmpty }

    public var description: String { Self.redacted }
    public var debugDescription: String { Self.redacted }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Decodes the real value (token responses carry secrets as JSON strings).
    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes `<redacted>`: a `Secret` inside a logged or returned structure never shows its value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.redacted)
    }

    /// Compares in time independent of where the values differ.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        constantTimeEqual(Array(lhs.value.utf8), Array(rhs.value.utf8))
    }
}

/// Compares two byte strings without an early exit (the length is not hidden).
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
