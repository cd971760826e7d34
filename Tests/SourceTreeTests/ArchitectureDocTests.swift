import Foundation
import Testing

/// docs/architecture.md draws the module graph; Package.swift is the graph. This keeps them equal, and
/// checks that every dependency points to a lower layer.
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

    /// The hops of "One Run now, hop by hop": `N. **Caller → Callee** — text`, the text running on over
    /// indented lines.
    static func runNowHops() throws -> [(number: Int, caller: String, callee: String, text: String)] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        let start = try #require(text.range(of: "## One Run now, hop by hop"))
        let section = text[start.upperBound...].prefix { _ in true }
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        var hops: [(number: Int, caller: String, callee: String, text: String)] = []
        for line in section[..<end].split(separator: "\n", omittingEmptySubsequences: false) {
            if let match = line.wholeMatch(of: /(\d+)\. \*\*(\w+) → (\w+)\*\* — (.*)/) {
                hops.append((Int(match.1)!, String(match.2), String(match.3), String(match.4)))
            } else if line.hasPrefix("   "), !hops.isEmpty {
                hops[hops.count - 1].text += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        return hops
    }

    /// Declared type and member names per module under Sources/Shared.
    static func declarations() throws -> [String: Set<String>] {
        let shared = root.appendingPathComponent("Sources/Shared")
        var names: [String: Set<String>] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: shared.path) {
            let walker = FileManager.default.enumerator(
                at: shared.appendingPathComponent(module), includingPropertiesForKeys: nil)
            for case let file as URL in walker?.allObjects ?? [] where file.pathExtension == "swift" {
                let source = try String(contentsOf: file, encoding: .utf8)
                let declared = source.matches(
                    of: /\b(?:struct|class|enum|protocol|actor|typealias|func|var|let|case)\s+([A-Za-z_]\w*)/)
                names[module, default: []].formUnion(declared.map { String($0.1) })
            }
        }
        return names
    }

    @Test func theRunNowPathNamesWhatTheCodeHasAndMovesAsThePackageAllows() throws {
        let hops = try Self.runNowHops()
        let graph = try Self.packageGraph()
        let declared = try Self.declarations()
        let everywhere = declared.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        #expect(hops.map(\.number) == Array(1...max(hops.count, 1)), "hops are numbered 1, 2, 3, …")
        for hop in hops {
            let label = "hop \(hop.number) (\(hop.caller) → \(hop.callee))"
            #expect(graph[hop.caller] != nil && graph[hop.callee] != nil, "\(label): both are modules")
            let (calls, implements) = (graph[hop.caller, default: []], graph[hop.callee, default: []])
            // Directly, or through a protocol of the caller or of a module both import.
            let reachable =
                calls.contains(hop.callee) || implements.contains(hop.caller) || !calls.isDisjoint(with: implements)
            #expect(
                reachable,
                "\(label): the caller imports the callee, or the callee implements a protocol the caller sees")
            for name in hop.text.matches(of: /`([A-Z][a-z]\w*)(?:\.(\w+))?`/) {
                let typeDeclared = everywhere.contains(String(name.1))
                #expect(typeDeclared, "\(label): \(name.1) is declared")
                if let member = name.2 {
                    let memberDeclared = everywhere.contains(String(member))
                    #expect(memberDeclared, "\(label): \(name.1).\(member) is declared")
                }
            }
            for implementation in hop.text.matches(of: /\[`(\w+)`\]/) {
                let isTheCallees = declared[hop.callee, default: []].contains(String(implementation.1))
                #expect(isTheCallees, "\(label): \(implementation.1) is the callee's")
            }
        }
    }
}
