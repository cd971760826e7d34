import Foundation
import ReportsTesting
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The second security review kept 1,100 half-sent requests open on the API for 45 s, and under
/// `--nofile=1024` (systemd's default soft limit) the process died. Here the API runs under a far lower
/// descriptor limit (256) with a 4 s request deadline, and 400 connections each send half a request:
/// the API never holds more descriptors than its limit, keeps serving the connection it already had,
/// closes the half-open ones at the deadline, then serves new connections again.
@Suite("The API under half-open connections and a low descriptor limit (real processes)", .serialized)
struct ProcessConnectionLimitsTests {
    @Test func halfOpenConnectionsAreClosedAndTheAPIKeepsServingUnderALowDescriptorLimit() async throws {
        let stack = try await ProcessStack()
        defer { stack.remove() }
        let port = TestPorts.unassigned()
        var env = stack.env
        env["REPORTS_HTTP_REQUEST_TIMEOUT_SECONDS"] = "4"
        let api = try ChildProcess(
            "/usr/bin/prlimit",
            ["--nofile=256:256", ChildProcess.binDirectory + "/enqueuer", "serve", "--port", "\(port)"],
            environment: env, outputPath: stack.directory.file("limited-api.log"))
        defer { if api.isRunning { api.signal(SIGKILL) } }
        #expect(
            try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(50)) {
                (try? RawHTTP.get(port: port, "/healthz")) == 200
            }, "\(api.output)")

        // A client already connected (keep-alive) before the flood.
        let kept = try RawHTTP(port: port)
        defer { kept.close() }
        #expect(try kept.request("/healthz") == 200)
        let started = ContinuousClock.now

        // 400 connection attempts at once (without waiting for each to be accepted: past the cap they
        // wait in the kernel's backlog); each that connects sends half a request.
        let flood = try (0..<400).map { _ in try RawHTTP(port: port, waitForConnection: false) }
        defer { for connection in flood { connection.close() } }
        // The kernel completes handshakes for the backlog too: more than the cap get connected.
        #expect(
            try await waitUntil(timeout: .seconds(5), pollEvery: .milliseconds(20)) {
                flood.filter(\.isConnected).count > 128
            })
        let halfOpen = flood.filter {
            $0.isConnected && (try? $0.send("GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x")) != nil
        }
        #expect(halfOpen.count > 128, "\(halfOpen.count) connections sent half a request")
        // The kept connection is still served while the flood waits (its own deadline is 4 s from its
        // last response, so this comes first).
        let flooded = ContinuousClock.now
        #expect(
            try kept.request("/healthz") == 200,
            "the connection the API had is still served (\(flooded - started) after its last response)")
        #expect(api.isRunning)
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(api.pid)/fd").count
        #expect(descriptors < 256, "the API holds \(descriptors) descriptors under a limit of 256")

        // At the deadline the half-open connections are closed; the waiting ones are then accepted and
        // closed in their turn.
        #expect(
            try await waitUntil(timeout: .seconds(40), pollEvery: .milliseconds(100)) {
                halfOpen.allSatisfy { $0.isClosedByPeer }
            },
            "\(halfOpen.filter { !$0.isClosedByPeer }.count) of \(halfOpen.count) half-open connections are still open")
        #expect(try RawHTTP.get(port: port, "/healthz") == 200, "a new connection is served again")
        #expect(api.isRunning, "\(api.output)")
    }
}

/// A plain TCP client for HTTP/1.1 on loopback: what a misbehaving client sends, byte for byte.
final class RawHTTP: @unchecked Sendable {
    let descriptor: Int32

    /// `waitForConnection: false` starts the connection and returns at once (a non-blocking connect).
    init(port: Int, waitForConnection: Bool = true) throws {
        descriptor = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | (waitForConnection ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, connected == 0 || (!waitForConnection && errno == EINPROGRESS) else {
            Glibc.close(descriptor)
            throw RawHTTPError(message: "connect failed: \(errno)")
        }
    }

    static func get(port: Int, _ path: String) throws -> Int {
        let connection = try RawHTTP(port: port)
        defer { connection.close() }
        return try connection.request(path)
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw RawHTTPError(message: "send failed: \(errno)")
        }
    }

    /// Bytes read past the last response (a pipelined answer that arrived with it).
    private var pending: [UInt8] = []

    /// One GET on this connection; the response's status (its body is read by its Content-Length).
    func request(_ path: String) throws -> Int {
        try send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return try readResponse()
    }

    /// The next response's status, its body read by its Content-Length.
    func readResponse() throws -> Int {
        var received = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                let headLength = text[..<end.upperBound].utf8.count
                if received.count - headLength >= length {
                    pending = Array(received[(headLength + length)...])
                    return Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
                }
            }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { throw RawHTTPError(message: "the connection closed before a whole response") }
            received += buffer[0..<count]
        }
    }

    /// Whether the connection is established (a non-blocking connect may still be under way).
    var isConnected: Bool {
        var descriptor = pollfd(fd: self.descriptor, events: Int16(POLLOUT), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLOUT) != 0
    }

    /// Whether the server closed its end (a read without waiting sees the end of the stream).
    var isClosedByPeer: Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    func close() { Glibc.close(descriptor) }
}

struct RawHTTPError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
