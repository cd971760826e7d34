import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Hosts of the test's own: one network namespace per host, each joined to a hub
/// namespace by a veth pair on a /30 of its own, so a program in a host namespace reaches the hub only
/// through its veth, like another machine on the network. Needs root (CAP_NET_ADMIN), as CI has;
/// without it the test fails saying so. Removed by `remove()`.
package final class TestNetwork: Sendable {
    package let hub: String
    package let hosts: [String]
    private let tag: String
    private static let networksMade = Atomic<Int>(0)

    /// Whether the test's own (root) namespace is linked to the hub and routed to every host.
    package let routed: Bool

    /// `hosts` are short names ("h1", "h2"); the hub's address as seen from host `i` is
    /// `hubAddress(forHost: i)`. `routed`: the test's own namespace gets a link to the hub too
    /// (`rootAddress` ↔ `hubRootAddress`), the hub forwards, and every host's default route is its
    /// hub link — so the test reaches a host's address, and hosts reach each other, through the hub
    /// like machines on a routed network.
    package init(hosts names: [String], routed: Bool = false) throws {
        guard getuid() == 0 else {
            throw TestNetworkError("network namespaces need root (CAP_NET_ADMIN); CI runs the tests as root")
        }
        // Unique per network, not just per process: the suite's tests run in parallel in one process,
        // and two networks with one tag collided ("File exists").
        let tag = "r\(getpid() % 100_000)n\(Self.networksMade.add(1, ordering: .relaxed).newValue % 100)"
        self.tag = tag
        self.routed = routed
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
            if routed { try Self.ip(["-n", host, "route", "add", "default", "via", hubAddress(forHost: index)]) }
        }
        if routed {
            let (rootSide, hubSide) = ("\(tag)r", "\(tag)q")
            try Self.ip(["link", "add", rootSide, "type", "veth", "peer", "name", hubSide, "netns", hub])
            try Self.ip(["addr", "add", "\(rootAddress)/30", "dev", rootSide])
            try Self.ip(["-n", hub, "addr", "add", "\(hubRootAddress)/30", "dev", hubSide])
            try Self.ip(["link", "set", rootSide, "up"])
            try Self.ip(["-n", hub, "link", "set", hubSide, "up"])
            try Self.ip(["route", "add", "10.231.0.0/16", "via", hubRootAddress])
            try Self.ip(["netns", "exec", hub, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        }
    }

    /// The test's own address on its link to the hub, and the hub's (when `routed`).
    package var rootAddress: String { "10.231.250.2" }
    package var hubRootAddress: String { "10.231.250.1" }

    /// The hub's address on host `index`'s link.
    package func hubAddress(forHost index: Int) -> String { "10.231.\(index).1" }
    package func hostAddress(_ index: Int) -> String { "10.231.\(index).2" }

    package func remove() {
        // Deleting the hub deletes the root link's other end, and with it the root side and its route.
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
