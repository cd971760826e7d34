import Foundation
import Testing

/// docs/architecture.md draws the module graph; Package.swift is the graph. This keeps them equal, and
/// checks that every dependency points to a lower layer (issue #15).
@Suite("Architecture document matches Package.swift")
struct ArchitectureDocTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Library targets under Sources/Shared and the library targets each depends on.
    static func packageGraph() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let libraries = Set(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Sources/Shared").path))
        var graph: [String: Set<String>] = [:]
        let target = /\.target\(\s*name: "(\w+)",\s*dependencies: \[([^\]]*)\]/
        for match in text.matches(of: target) where libraries.contains(String(match.1)) {
            let names = match.2.matches(of: /"(\w+)"/).map { String($0.1) }
            graph[String(match.1)] = Set(names.filter { libraries.contains($0) && $0 != "ReportsSupport" })
        }
        for library in libraries where graph[library] == nil { graph[library] = [] }
        return graph
    }

    /// The document's layers and arrows.
    static func documentGraph() throws -> (layers: [String: Int], arrows: [String: Set<String>]) {
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var layers: [String: Int] = [:]
        var arrows: [String: Set<String>] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: /layer (\d+)\s+(.+)/) {
                for name in match.2.split(separator: " ", omittingEmptySubsequences: true) {
                    layers[String(name)] = Int(match.1)!
                }
                current = nil
            } else if let match = line.wholeMatch(of: /(\w+)\s+──▶ (.+)/), match.1 != "every" {
                current = String(match.1)
                arrows[current!, default: []].formUnion(names(match.2))
            } else if let current, line.hasPrefix("                   ") {
                arrows[current, default: []].formUnion(names(line))
            } else {
                current = nil
            }
        }
        return (layers, arrows)
    }

    static func names(_ text: Substring) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test func theDrawnGraphIsThePackagesGraph() throws {
        let package = try Self.packageGraph()
        let document = try Self.documentGraph()
        #expect(Set(document.layers.keys) == Set(package.keys), "every module is in exactly the layers drawn")
        for (module, dependencies) in package {
            #expect((document.arrows[module] ?? []) == dependencies, "\(module)'s arrows")
            for dependency in dependencies {
                #expect(
                    document.layers[dependency, default: 99] < document.layers[module, default: -1],
                    "\(module) → \(dependency) points down")
            }
        }
    }
}
