/// Why a Forge Invocation Token was refused. `code` is stable: API errors, logs and metrics use it.
/// Messages never include the token or any of its claims' values.
public struct FITVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable, Equatable {
        case malformed, unsupportedAlgorithm, unknownKey, badSignature, wrongIssuer, wrongAudience
        case expired, notYetValid, replayed, jwksUnavailable
    }

    private let _code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        _code = code
        self.message = message
    }

    public var code: String { _code.rawValue }
    public var description: String { "\(code): \(message)" }
    public static func == (lhs: FITVerificationError, rhs: FITVerificationError) -> Bool { lhs._code == rhs._code }

    /// Every code, for metrics that must show zeros too.
    public static let allCodes = [
        "malformed", "unsupportedAlgorithm", "unknownKey", "badSignature", "wrongIssuer",
        "wrongAudience", "expired", "notYetValid", "replayed", "jwksUnavailable",
    ]

    public static let malformed = FITVerificationError(
        .malformed, "the token is not a well-formed Forge Invocation Token")
    static let unsupportedAlgorithm = FITVerificationError(
        .unsupportedAlgorithm, "only RS256 tokens are accepted")
    static let unknownKey = FITVerificationError(.unknownKey, "the token's key id is not in Atlassian's key set")
    static let badSignature = FITVerificationError(.badSignature, "the token's signature does not verify")
    static let wrongIssuer = FITVerificationError(.wrongIssuer, "the token was not issued by Forge")
    static let wrongAudience = FITVerificationError(.wrongAudience, "the token is for another app")
    static let expired = FITVerificationError(.expired, "the token has expired")
    static let notYetValid = FITVerificationError(.notYetValid, "the token is not valid yet")
    public static let replayed = FITVerificationError(.replayed, "the token was already used")
    static let jwksUnavailable = FITVerificationError(
        .jwksUnavailable, "Atlassian's key set could not be fetched")

    static func malformed(_ detail: String) -> FITVerificationError { FITVerificationError(.malformed, detail) }
}
