import CCurl
import Foundation
import ReportsSupport

/// One request on its own libcurl easy handle (docs/upstream-notes.md, "The transport").
///
/// Made on the caller's thread; once `CurlMulti` has taken it, only the multi's thread touches it — the
/// body and header callbacks run there, inside `curl_multi_perform` — until it is finished, once.
/// The response cap is enforced *inside* the transfer: a declared `Content-Length` over the cap stops
/// it in the header callback, and the body callback refuses the chunk that would cross the cap, which
/// makes libcurl abandon the transfer at once (`CURLE_WRITE_ERROR`) and close the connection. So a
/// chunked answer of any size costs at most the cap plus one read buffer.
final class CurlTransfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    let host: String
    let limit: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>

    // The multi's thread only, after hand-over.
    private var body = Data()
    private var headers: [String: String] = [:]
    private var tooLarge = false
    var cancelRequested = false
    var continuation: CheckedContinuation<OutboundResponse, any Error>?

    init(_ request: OutboundRequest, limit: Int) throws(HTTPTransportError) {
        let host = request.url.host ?? "?"
        guard let easy = curl_easy_init() else {
            throw HTTPTransportError.unreachable(host, reason: "libcurl could not start a transfer")
        }
        self.easy = easy
        self.host = host
        self.limit = limit
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        configure(request)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    private func configure(_ request: OutboundRequest) {
        setString(CURLOPT_URL, request.url.absoluteString)
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        // Redirects are never followed (the 3xx goes back to the caller): following one would carry our
        // Authorization header to whatever origin the upstream names.
        ccurl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        setString(CURLOPT_PROTOCOLS_STR, "http,https")
        // TLS 1.2 is the floor, set on the handle itself (OutboundTLSFloor also sets it for OpenSSL).
        ccurl_setopt_long(easy, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        let milliseconds = Int(request.timeout.wholeMilliseconds)
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(milliseconds, 1))
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(min(milliseconds, 10_000), 1))
        ccurl_setopt_offset(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limit))
        // Every encoding libcurl decodes; the cap counts decoded bytes, so a compressed bomb stops too.
        setString(CURLOPT_ACCEPT_ENCODING, "")
        ccurl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)

        let method = request.method.uppercased()
        if let body = request.body {
            ccurl_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies the bytes; an empty body needs a valid pointer all the same.
                _ = ccurl_setopt_pointer(
                    easy, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(errorBuffer))
            }
            if method != "POST" { setString(CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            ccurl_setopt_long(easy, CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            setString(CURLOPT_CUSTOMREQUEST, method)
        }
        // No "Expect: 100-continue" wait before a large body; headers as given.
        var lines = request.headers.map { "\($0.key): \($0.value)" }
        lines.append("Expect:")
        for line in lines { headerList = curl_slist_append(headerList, line) }
        ccurl_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList)

        let context = Unmanaged.passUnretained(self).toOpaque()
        ccurl_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlBodyCallback)
        ccurl_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        ccurl_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        ccurl_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
    }

    /// libcurl copies string options (since 7.17).
    private func setString(_ option: CURLoption, _ value: String) {
        _ = value.withCString { ccurl_setopt_pointer(easy, option, $0) }
    }

    // MARK: Callbacks (the multi's thread)

    /// A chunk of the body: kept, or refused when it would cross the cap (which aborts the transfer).
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard body.count + bytes.count <= limit else {
            tooLarge = true
            body = Data()
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// One header line. A status line starts a new response (after a `100 Continue`, say); a declared
    /// length over the cap refuses the answer before any of its body is read.
    func receiveHeader(_ line: String) -> Bool {
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return true
        }
        guard let colon = line.firstIndex(of: ":") else { return true }
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { return true }
        headers[name] = value
        if name.lowercased() == "content-length", let length = Int(value) {
            guard length <= limit else {
                tooLarge = true
                return false
            }
            body.reserveCapacity(length)
        }
        return true
    }

    // MARK: Finishing (the multi's thread)

    /// Resumes the caller once with the outcome of `code`.
    func finish(_ code: CURLcode) {
        guard let continuation else { return }
        self.continuation = nil
        if tooLarge || code == CURLE_FILESIZE_EXCEEDED {
            continuation.resume(throwing: HTTPTransportError.responseTooLarge(limit))
        } else if code == CURLE_OK {
            var status = 0
            ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            continuation.resume(returning: OutboundResponse(status: status, headers: headers, body: body))
        } else {
            continuation.resume(throwing: HTTPTransportError.unreachable(host, reason: reason(code)))
        }
        body = Data()
    }

    func finish(throwing error: any Error) {
        guard let continuation else { return }
        self.continuation = nil
        continuation.resume(throwing: error)
    }

    /// Why a transfer failed, for operators: a fixed phrase for the common classes, else libcurl's own
    /// one-line error text (about the connection: TLS alerts, certificate problems — never the
    /// upstream's response body), capped.
    private func reason(_ code: CURLcode) -> String {
        switch code {
        case CURLE_COULDNT_CONNECT: return "connection refused"
        case CURLE_COULDNT_RESOLVE_HOST: return "host name not found"
        case CURLE_OPERATION_TIMEDOUT: return "timed out"
        case CURLE_PEER_FAILED_VERIFICATION: return "the server's certificate is not trusted"
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE: return "connection lost"
        default:
            var text = String(cString: errorBuffer)
            if text.isEmpty { text = String(cString: curl_easy_strerror(code)) }
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let prefix = code == CURLE_SSL_CONNECT_ERROR ? "TLS handshake failed: " : ""
            return line.isEmpty ? "network error \(code.rawValue)" : prefix + String(line.prefix(200))
        }
    }
}

/// `CURLOPT_WRITEFUNCTION`: returning less than the chunk's size aborts the transfer.
private let curlBodyCallback: ccurl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return transfer.receive(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : 0
}

/// `CURLOPT_HEADERFUNCTION`: one whole header line per call.
private let curlHeaderCallback: ccurl_data_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    return transfer.receiveHeader(line) ? length : 0
}
