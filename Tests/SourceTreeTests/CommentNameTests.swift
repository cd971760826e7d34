import Foundation
import Testing

/// Comments state contracts in terms of the code's own names; a comment naming a type, module or file
/// that no longer exists (a type renamed, a module merged) misleads the next reader. This lint reads
/// every comment in Sources and checks each name it cites in backticks, and each CamelCase word, against
/// what exists: declarations and file names in this repository, the modules and declarations of the
/// checked-out dependencies, the OpenAPI document's schemas, and a short list of proper nouns.
@Suite("Comments name what exists")
struct CommentNameTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Words that are names of things outside any code (products, standards, units, the standard library).
    static let properNouns: Set<String> = [
        "OneNote", "PostgreSQL", "GraphQL", "JavaScript", "OpenSSL", "SwiftNIO", "HttpOnly", "ReadWrite",
        "MinProtocol", "IssueBean", "KiB", "MiB", "CancellationError", "Encodable", "Decodable", "Sendable",
        "Codable", "Equatable", "Hashable", "ServiceLifecycle", "JSONDecoder", "JSONEncoder", "OAuth",
        // Words in backticks that are values, not code: an HTTP header, a Microsoft scope.
        "Host", "Notes",
    ]

    static func swiftFiles(under folder: String) -> [URL] {
        let base = root.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else {
            return []
        }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    static func declaredNames(in text: String) -> Set<String> {
        let declaration =
            /\b(?:struct|class|enum|protocol|actor|typealias|extension|case|func|var|let)\s+([A-Za-z_]\w*)/
        return Set(text.matches(of: declaration).map { String($0.1) })
    }

    static func declaredNames(in files: [URL]) -> Set<String> {
        var names: Set<String> = []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            names.formUnion(declaredNames(in: text))
            // A file is named for what it holds: `ReportsDatabase+Backup.swift` names both parts.
            for part in file.deletingPathExtension().lastPathComponent.split(separator: "+") {
                names.insert(String(part))
            }
        }
        return names
    }

    /// The names comments cite: `Name` or `Name.member` in backticks (not an all-capitals value such as
    /// `UTC` or `P7D`), and CamelCase words with two humps.
    static func citedNames(_ comment: Substring) -> [String] {
        let quoted = comment.matches(of: /`([A-Z][a-z][A-Za-z0-9]*)(?:[.(+][^`]*)?`/).map { String($0.1) }
        let camel = comment.matches(of: /\b([A-Z][a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)\b/).map { String($0.1) }
        return quoted + camel
    }

    @Test func everyNameACommentCitesExists() throws {
        let sources = Self.swiftFiles(under: "Sources")
        var known = Self.declaredNames(
            in: sources + Self.swiftFiles(under: "Tests") + Self.swiftFiles(under: "Benchmarks")
                + Self.swiftFiles(under: "Fuzz"))
        known.formUnion(try FileManager.default.contentsOfDirectory(atPath: Self.root.path + "/Sources/Shared"))
        known.formUnion(try FileManager.default.contentsOfDirectory(atPath: Self.root.path + "/Sources"))
        known.formUnion(Self.properNouns)
        let openAPI = try String(contentsOf: Self.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        known.formUnion(openAPI.matches(of: /\n    ([A-Z]\w+):\n/).map { String($0.1) })

        var unknown: [String: [String]] = [:]
        for file in sources {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let start = line.firstRange(of: "//") else { continue }
                for name in Self.citedNames(line[start.upperBound...]) where !known.contains(name) {
                    unknown[name, default: []].append("\(file.lastPathComponent):\(number + 1)")
                }
            }
        }
        if !unknown.isEmpty {
            // Names of the dependencies (their modules and declarations), read only when needed.
            let checkouts = Self.root.appendingPathComponent(".build/checkouts")
            let packages = (try? FileManager.default.contentsOfDirectory(atPath: checkouts.path)) ?? []
            var external: Set<String> = []
            for package in packages {
                let sourcesFolder = checkouts.appendingPathComponent(package).appendingPathComponent("Sources")
                external.formUnion((try? FileManager.default.contentsOfDirectory(atPath: sourcesFolder.path)) ?? [])
            }
            // Declarations, looked for only by the names still unknown (a substring test first: fast).
            var remaining = Set(unknown.keys).subtracting(external)
            for file in Self.swiftFiles(under: ".build/checkouts") {
                guard !remaining.isEmpty else { break }
                guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
                let present = remaining.filter { text.contains($0) }
                guard !present.isEmpty else { continue }
                remaining.subtract(present.intersection(Self.declaredNames(in: text)))
            }
            unknown = unknown.filter { remaining.contains($0.key) }
        }
        #expect(
            unknown.isEmpty,
            "comments cite names that exist nowhere: \(unknown.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value.joined(separator: ", ")))" })"
        )
    }

    /// A comment states the contract; an issue number sends the reader to a tracker the code outlives.
    /// Every Swift file, script and configuration file of the tree is read.
    @Test func noCommentPointsToAnIssueNumber() throws {
        let folders = ["Sources", "Tests", "Benchmarks", "Fuzz", "deploy", ".ci"]
        var files: [URL] = [
            Self.root.appendingPathComponent("Package.swift"), Self.root.appendingPathComponent("Makefile"),
        ]
        for folder in folders {
            let base = Self.root.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else {
                continue
            }
            files += walker.compactMap { $0 as? URL }.filter {
                ["swift", "sh", "py", "sql", "c", "yml", "yaml", "md", "example", ""].contains($0.pathExtension)
            }
        }
        var found: [String] = []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains(/[Ii]ssues? #[0-9]/) {
                found.append("\(file.path.dropFirst(Self.root.path.count + 1)):\(number + 1)")
            }
        }
        #expect(found.isEmpty, "issue numbers in the tree: \(found)")
    }
}
