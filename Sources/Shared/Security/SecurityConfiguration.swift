public import Crypto
import Foundation
public import ReportsSupport

/// The keys of the token vault and of the OAuth state, read from the environment and validated.
///
/// `REPORTS_TOKEN_KEYS` = `id1:base64key,id2:base64key` — each key exactly 32 bytes; the first encrypts,
/// all decrypt (so keys rotate without downtime). `REPORTS_STATE_KEY` = base64 of 32 bytes, different
/// from every token key. Errors name the variable and the entry's position, never a key.
public struct SecurityConfiguration: Sendable {
    package let tokenKeys: TokenKeyRing
    public let stateKey: SymmetricKey

    public init(tokenKeys: TokenKeyRing, stateKey: SymmetricKey) {
        self.tokenKeys = tokenKeys
        self.stateKey = stateKey
    }

    public init(environment: [String: String]) throws(ConfigurationError) {
        let tokenKeys = try TokenKeyRing(environment: environment)
        guard let stateText = environment["REPORTS_STATE_KEY"], !stateText.isEmpty else {
            throw ConfigurationError(
                variable: "REPORTS_STATE_KEY", problem: "is not set; generate one with `enqueuer keys generate --state`"
            )
        }
        let stateBytes = try Self.decodeKey(stateText, variable: "REPORTS_STATE_KEY", entry: nil)
        if tokenKeys.keys.contains(where: { constantTimeEqual($0.bytes, stateBytes) }) {
            throw ConfigurationError(
                variable: "REPORTS_STATE_KEY", problem: "must differ from every key in REPORTS_TOKEN_KEYS")
        }
        self.init(tokenKeys: tokenKeys, stateKey: SymmetricKey(data: stateBytes))
    }

    /// Base64 of exactly 32 bytes.
    static func decodeKey(_ text: String, variable: String, entry: Int?) throws(ConfigurationError) -> [UInt8] {
        let which = entry.map { "entry \($0)'s key" } ?? "the key"
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError(variable: variable, problem: "is malformed: \(which) is not base64")
        }
        guard data.count == 32 else {
            throw ConfigurationError(
                variable: variable, problem: "is malformed: \(which) is \(data.count) bytes; it must be 32 (256 bits)")
        }
        return Array(data)
    }
}

/// The token-vault keys by id; the first one encrypts.
public struct TokenKeyRing: Sendable {
    public struct Key: Sendable {
        public let id: String
        let bytes: [UInt8]
        var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
    }

    public let keys: [Key]
    public var active: Key { keys[0] }

    public func key(id: String) -> Key? { keys.first { $0.id == id } }

    /// Key ids: 1–32 of `A–Z a–z 0–9 . _ -`.
    public static func isValidKeyId(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    public init(environment: [String: String]) throws(ConfigurationError) {
        let variable = "REPORTS_TOKEN_KEYS"
        guard let text = environment[variable], !text.isEmpty else {
            throw ConfigurationError(
                variable: variable, problem: "is not set; generate a key with `enqueuer keys generate`")
        }
        var keys: [Key] = []
        for (index, entry) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let position = index + 1
            let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw ConfigurationError(
                    variable: variable, problem: "is malformed: entry \(position) is not of the form id:base64key")
            }
            let id = parts[0].trimmingCharacters(in: .whitespaces)
            guard Self.isValidKeyId(id) else {
                throw ConfigurationError(
                    variable: variable,
                    problem: "is malformed: entry \(position)'s id must be 1-32 of A-Z a-z 0-9 . _ -")
            }
            guard !keys.contains(where: { $0.id == id }) else {
                throw ConfigurationError(variable: variable, problem: "is malformed: entry \(position) repeats an id")
            }
            let bytes = try SecurityConfiguration.decodeKey(String(parts[1]), variable: variable, entry: position)
            keys.append(Key(id: id, bytes: bytes))
        }
        self.keys = keys
    }

    public init(keys: [(id: String, key: SymmetricKey)]) {
        self.keys = keys.map { pair in Key(id: pair.id, bytes: pair.key.withUnsafeBytes { Array($0) }) }
    }
}
