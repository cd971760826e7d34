import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hosts of the test's own (issue #16): one network namespace per host, each joined to a hub
/// namespace by a veth pair on a /30 of its own, so a program in a host namespace reaches the hub only
/// through its veth, like another machine on the network. Needs root (CAP_NET_ADMIN), as CI has;
/// without it the test fails saying so. Removed by `remove()`.
package final class TestNetwork: Sendable {
    package let hub: String
    package let hosts: [String]
    private let tag: String

    /// `hosts` are short names ("h1", "h2"); the hub's address as seen from host `i` is
    /// `hubAddress(forHost: i)`.
    package init(hosts names: [String]) throws {
        guard getuid() == 0 else {
            throw TestNetworkError("network namespaces need root (CAP_NET_ADMIN); CI runs the tests as root")
        }
        let tag = "r\(getpid() % 100_000)"
        self.tag = tag
        hub = "\(tag)-hub"
        hosts = names.map { "\(tag)-\($0)" }
        try Self.ip(["netns", "add", hub])
        try Self.ip(["-n", hub, "link", "set", "lo", "up"])
        for (index, host) in hosts.enumerated() {
            try Self.ip(["netns", "add", host])
            try Self.ip(["-n", host, "link", "set", "lo", "up"])
            let (hubSide, hostSide) = ("\(tag)h\(index)", "\(tag)v\(index)")
            try Self.ip(["link", "add", hubSide, "netns", hub, "type", "veth", "peer", "name", hostSide, "netns", host])
            try Self.ip(["-n", hub, "addr", "add", "\(hubAddress(forHost: index))/30", "dev", hubSide])
            try Self.ip(["-n", host, "addr", "add", "\(hostAddress(index))/30", "dev", hostSide])
            try Self.ip(["-n", hub, "link", "set", hubSide, "up"])
            try Self.ip(["-n", host, "link", "set", hostSide, "up"])
        }
    }

    /// The hub's address on host `index`'s link.
    package func hubAddress(forHost index: Int) -> String { "10.231.\(index).1" }
    package func hostAddress(_ index: Int) -> String { "10.231.\(index).2" }

    package func remove() {
        for namespace in hosts + [hub] { try? Self.ip(["netns", "delete", namespace]) }
    }

    static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestNetworkError("ip \(arguments.joined(separator: " ")) failed: \(message)")
        }
    }
}

package struct TestNetworkError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
