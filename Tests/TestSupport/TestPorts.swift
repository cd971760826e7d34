import Foundation

/// A loopback port for a server a test starts with a fixed `--port`. Chosen below the kernel's
/// ephemeral range: a port inside it can be taken at any moment by a `--port 0` server or an outgoing
/// connection of another process (seen: `enqueuer serve` failing to start on such a port).
package enum TestPorts {
    package static func unassigned() -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let ephemeralStart = range?.first ?? 32_768
        return Int.random(in: 20_000..<max(ephemeralStart, 20_001))
    }
}
