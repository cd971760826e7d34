import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Makes TLS 1.2 the minimum for every outbound connection of this process (docs/design-notes.md §5, TLS).
///
/// Why this exists: URLSession on Linux is libcurl over the system OpenSSL 3, and URLSession has no
/// API for a minimum TLS version there. OpenSSL's default security level does refuse TLS 1.1 with
/// ECDHE (its MD5-SHA1 signature is too weak) but *accepts* a server that offers only TLS 1.1 with RSA
/// key exchange; `Tests/tls/run.sh` shows both. So before the first TLS connection the process points
/// OpenSSL at a configuration whose `system_default` section sets `MinProtocol = TLSv1.2` and security
/// level 2; every `SSL_CTX` libcurl creates then starts from it. The text goes into an unlinked
/// temporary file read through `/proc/self/fd`, so nothing stays on disk. It replaces any
/// `OPENSSL_CONF` the environment had: this process needs OpenSSL only for these connections.
public enum OutboundTLSFloor {
    public static let openSSLConfiguration = """
        openssl_conf = onenote_reports_init

        [onenote_reports_init]
        ssl_conf = onenote_reports_ssl

        [onenote_reports_ssl]
        system_default = onenote_reports_tls

        [onenote_reports_tls]
        MinProtocol = TLSv1.2
        CipherString = DEFAULT:@SECLEVEL=2

        """

    /// Call first thing in `main`, before any thread could open a TLS connection (and so read the
    /// environment). Returns false when no temporary file could be made; the caller stops the process.
    public static func install() -> Bool {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/onenote-reports-openssl-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        guard descriptor >= 0 else { return false }
        unlink(template)
        let bytes = Array(openSSLConfiguration.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            close(descriptor)
            return false
        }
        // The descriptor stays open for the life of the process: OpenSSL reads the file when libcurl
        // first initialises it, which is later than this.
        return setenv("OPENSSL_CONF", "/proc/self/fd/\(descriptor)", 1) == 0
    }
}
