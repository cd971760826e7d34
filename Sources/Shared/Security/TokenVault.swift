import Crypto
public import Foundation

/// AES-256-GCM encryption of the tokens we store (docs/design-notes.md §5, token encryption).
///
/// Ciphertext format, version 1:
///
///     0x01 | L (1 byte) | key id (L bytes, ASCII) | nonce (12 bytes) | ciphertext | tag (16 bytes)
///
/// The associated data is the header (`0x01 | L | key id`) followed by the UTF-8 of the context
/// (for example `ms-refresh|<installationId>|<accountId>`), so a ciphertext opens only for the row and
/// purpose it was made for, and its key id cannot be swapped. A fresh random 96-bit nonce is drawn for
/// every encryption.
public struct TokenVault: Sendable {
    static let version: UInt8 = 1
    public let keys: TokenKeyRing

    public init(keys: TokenKeyRing) { self.keys = keys }

    public func seal(_ secret: Secret, context: VaultContext) throws -> Data {
        let key = keys.active
        let header = Self.header(keyId: key.id)
        let sealed = try Self.aesGCMSeal(
            Data(secret.revealed.utf8), key: key.symmetricKey, nonce: AES.GCM.Nonce(),
            associatedData: header + Data(context.associatedData.utf8))
        return header + sealed
    }

    /// The primitive: AES-256-GCM, returning nonce ‖ ciphertext ‖ tag. Separate so the NIST known-answer
    /// test runs through exactly the code that seals tokens.
    static func aesGCMSeal(_ plaintext: Data, key: SymmetricKey, nonce: AES.GCM.Nonce, associatedData: Data) throws
        -> Data
    {
        precondition(key.bitCount == 256, "the vault uses 256-bit keys only")
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: associatedData)
        return Data(nonce) + box.ciphertext + box.tag
    }

    public func open(_ sealed: Data, context: VaultContext) throws -> Secret {
        let (keyId, nonce, ciphertext, tag, header) = try Self.parse(sealed)
        guard let key = keys.key(id: keyId) else { throw TokenVaultError.unknownKey }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
            let plaintext = try AES.GCM.open(
                box, using: key.symmetricKey, authenticating: header + Data(context.associatedData.utf8))
            guard let text = String(data: plaintext, encoding: .utf8) else {
                throw TokenVaultError.authenticationFailed
            }
            return Secret(text)
        } catch let error as TokenVaultError {
            throw error
        } catch {
            throw TokenVaultError.authenticationFailed
        }
    }

    /// The id of the key a ciphertext was sealed with (rotation re-seals those not under the active key).
    public static func keyId(of sealed: Data) throws -> String {
        try parse(sealed).keyId
    }

    static func header(keyId: String) -> Data {
        Data([version, UInt8(keyId.utf8.count)]) + Data(keyId.utf8)
    }

    private static func parse(_ sealed: Data) throws -> (
        keyId: String, nonce: Data, ciphertext: Data, tag: Data, header: Data
    ) {
        let bytes = [UInt8](sealed)
        guard bytes.count >= 2, bytes[0] == version else { throw TokenVaultError.malformed }
        let idLength = Int(bytes[1])
        let headerLength = 2 + idLength
        guard idLength >= 1, bytes.count >= headerLength + 12 + 16 else { throw TokenVaultError.malformed }
        let keyId = String(decoding: bytes[2..<headerLength], as: UTF8.self)
        let nonce = Data(bytes[headerLength..<(headerLength + 12)])
        let ciphertext = Data(bytes[(headerLength + 12)..<(bytes.count - 16)])
        let tag = Data(bytes[(bytes.count - 16)...])
        return (keyId, nonce, ciphertext, tag, Data(bytes[0..<headerLength]))
    }
}

/// What a ciphertext is for and whose it is; it becomes the associated data.
public struct VaultContext: Sendable, Equatable {
    let associatedData: String

    public init(purpose: String, owner: [String]) {
        associatedData = ([purpose] + owner).joined(separator: "|")
    }

    /// A Microsoft refresh token of one Atlassian account in one installation.
    public static func microsoftRefreshToken(installationId: String, accountId: String) -> VaultContext {
        VaultContext(purpose: "ms-refresh", owner: [installationId, accountId])
    }

    /// A Microsoft access token of one Atlassian account, cached for the processes that share it.
    public static func microsoftAccessToken(installationId: String, accountId: String) -> VaultContext {
        VaultContext(purpose: "ms-access", owner: [installationId, accountId])
    }

    /// The app system token of an installation.
    public static func atlassianSystemToken(installationId: String) -> VaultContext {
        VaultContext(purpose: "atl-system", owner: [installationId])
    }

    /// A user token forwarded with a Run now, bound to that run.
    public static func forwardedUserToken(installationId: String, runId: String) -> VaultContext {
        VaultContext(purpose: "atl-user", owner: [installationId, runId])
    }
}

/// A ciphertext did not open. Deliberately vague beyond the kind: no key material or content.
public struct TokenVaultError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable { case malformed, unknownKey, authenticationFailed }
    private let code: Code
    public let message: String
    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
    public static func == (lhs: TokenVaultError, rhs: TokenVaultError) -> Bool { lhs.code == rhs.code }

    public static let malformed = TokenVaultError(.malformed, "the ciphertext is not in the vault's format")
    static let unknownKey = TokenVaultError(
        .unknownKey, "the ciphertext was sealed with a key that is not configured in REPORTS_TOKEN_KEYS")
    static let authenticationFailed = TokenVaultError(
        .authenticationFailed, "the ciphertext does not authenticate (tampered, or bound to another owner or purpose)")
}
