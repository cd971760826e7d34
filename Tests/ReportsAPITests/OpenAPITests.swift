import Foundation
import Hummingbird
import ReportsTesting
import Testing

@testable import Enqueuer
@testable import ReportsAPI

@Suite("OpenAPI document")
struct OpenAPITests {
    /// `METHOD /path` pairs of docs/openapi.yaml, read line by line (paths at two spaces, methods at four).
    static func documentedRoutes() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml")
        let lines = try String(contentsOf: url, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        var routes = Set<String>()
        var inPaths = false
        var path: String?
        for line in lines {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let word = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "delete", "patch"].contains(word) {
                    routes.insert("\(word.uppercased()) \(path)")
                }
            }
        }
        return routes
    }

    @Test func theServerAndTheDocumentHaveTheSameRoutes() async throws {
        try await APIHarness.run { harness in
            let router = APIRoutes.router(harness.services)
            let registered = Set(
                router.routes.map { route in
                    // Hummingbird writes captures as {id}, as OpenAPI does.
                    "\(route.method.rawValue) \(route.path.description.hasPrefix("/") ? "" : "/")\(route.path)"
                })
            let documented = try Self.documentedRoutes()
            #expect(documented.count == 24)
            #expect(
                registered == documented,
                "only served: \(registered.subtracting(documented).sorted()); only documented: \(documented.subtracting(registered).sorted())"
            )
        }
    }
}
