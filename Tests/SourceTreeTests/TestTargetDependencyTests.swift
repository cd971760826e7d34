import Foundation
import Testing

/// A test target links what it tests and the test helpers it uses, not everything: each test target's
/// list in Package.swift names exactly the modules of this package its files import (an executable
/// target it starts in-process counts as imported), and no test target links the whole stack's
/// fixtures (`ReportsTesting`) unless it uses them.
@Suite("Test targets link what they import")
struct TestTargetDependencyTests {
    static let root = ArchitectureDocTests.root

    /// This package's own modules: the libraries, the test helpers and the executables.
    static func ownModules(_ package: String) -> Set<String> {
        Set(package.matches(of: /\.(?:target|executableTarget)\(\s*name: "(\w+)"/).map { String($0.1) })
    }

    @Test func eachTestTargetNamesExactlyTheModulesItImports() throws {
        let package = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let own = Self.ownModules(package)
        let targets = package.matches(of: /testTarget\(\s*"(\w+)",\s*\[([^\]]*)\]\)/)
        #expect(targets.count >= 10, "the test targets' lists were found")
        for target in targets {
            let name = String(target.1)
            let declared = Set(target.2.matches(of: /"(\w+)"/).map { String($0.1) }).intersection(own)
            var imported: Set<String> = []
            let directory = Self.root.appendingPathComponent("Tests/\(name)")
            let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    if let match = line.wholeMatch(of: /(?:package |@testable |public )?import (\w+)/) {
                        imported.insert(String(match.1))
                    }
                }
            }
            imported.formIntersection(own)
            // An executable is linked to start its entry point in-process; it is not imported by name.
            let executables = Set(["Enqueuer", "Worker", "Sandbox"])
            #expect(
                imported.subtracting(declared).isEmpty,
                "\(name) imports \(imported.subtracting(declared).sorted()) without naming them in Package.swift")
            #expect(
                declared.subtracting(imported).subtracting(executables).isEmpty,
                "\(name) links \(declared.subtracting(imported).subtracting(executables).sorted()) it never imports")
        }
    }
}
