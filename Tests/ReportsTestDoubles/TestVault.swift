import Crypto
package import Security

/// A token vault with one fresh random key: what a test seals and opens tokens with.
package enum TestVault {
    package static func make() -> TokenVault {
        TokenVault(keys: TokenKeyRing(keys: [("k1", SymmetricKey(size: .bits256))]))
    }
}
