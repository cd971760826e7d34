import Foundation
import TestSupport
import Testing

/// The operator's kit in `deploy/` says what the code does: the environment template lists exactly the
/// variables the programs read, the systemd units pass `systemd-analyze verify` against the real
/// binaries, and the Forge manifest asks for the security page's scopes and routes the API serves.
@Suite struct DeployKitTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Every `REPORTS_* / FORGE_* / MS_* / ATLASSIAN_*` name in the code of the three programs (the
    /// sandbox is a development tool with no environment of its own).
    static func variablesInCode() throws -> Set<String> {
        let pattern = try Regex(#"\b(REPORTS|FORGE|MS|ATLASSIAN)_[A-Z][A-Z0-9_]*"#)
        var names: Set<String> = []
        for folder in ["Sources/Shared", "Sources/Enqueuer", "Sources/Worker"] {
            let base = root.appendingPathComponent(folder)
            let files =
                FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }
                ?? []
            for file in files where file.pathExtension == "swift" {
                let source = try String(contentsOf: file, encoding: .utf8)
                for match in source.matches(of: pattern) { names.insert(String(source[match.range])) }
            }
        }
        return names
    }

    @Test func theEnvironmentExampleListsExactlyTheVariablesTheCodeReads() throws {
        let lines = try Self.text("deploy/reports.env.example").split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        var listed: [String] = []
        for (index, line) in lines.enumerated() where !line.hasPrefix("#") && line.contains("=") {
            let name = String(line.prefix { $0 != "=" })
            listed.append(name)
            #expect(index > 0 && lines[index - 1].hasPrefix("#"), "\(name) has a comment above it")
        }
        #expect(listed.count == Set(listed).count, "no variable is listed twice")
        let code = try Self.variablesInCode()
        #expect(code.count >= 15, "the scan finds the variables (\(code.sorted()))")
        #expect(
            Set(listed) == code,
            "only in the example: \(Set(listed).subtracting(code).sorted()); only in the code: \(code.subtracting(Set(listed)).sorted())"
        )
        // No real secrets: the key and secret lines hold placeholders.
        for name in ["REPORTS_TOKEN_KEYS", "REPORTS_STATE_KEY", "MS_CLIENT_SECRET"] {
            let value = lines.first { $0.hasPrefix(name + "=") }?.dropFirst(name.count + 1) ?? ""
            #expect(value.contains("REPLACE"), "\(name) is a placeholder")
        }
    }

    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
            "systemd-analyze is not installed"))
    func theSystemdUnitsVerifyAgainstTheRealBinaries() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let units = ["reports-enqueuer.service", "reports-worker@.service", "reports-cron.service"]
        for unit in units {
            let text = try Self.text("deploy/systemd/\(unit)")
            for option in [
                "User=onenote-reports", "EnvironmentFile=/etc/onenote-reports/reports.env", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "PrivateTmp=yes", "StateDirectory=onenote-reports", "CapabilityBoundingSet=\n",
            ] {
                #expect(text.contains(option), "\(unit) sets \(option)")
            }
            #expect(!text.contains("ReadWritePaths"), "\(unit): the state directory is the only writable place")
            try text.replacingOccurrences(of: "/usr/local/bin/", with: ChildProcess.binDirectory + "/")
                .write(toFile: directory.file(unit), atomically: true, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        process.arguments = [
            "verify", directory.file("reports-enqueuer.service"), directory.file("reports-cron.service"),
            directory.file("reports-worker@9101.service"),
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.isEmpty, "systemd-analyze verify prints no warning: \(output)")
    }

    @Test func theForgeManifestAsksForExactlyTheReadScopesAndRoutesThatExist() throws {
        let manifest = try Self.text("deploy/forge/manifest.yml")
        let lines = manifest.split(separator: "\n").map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#")
        }
        // The scope map: the keys indented under `permissions:` → `scopes:`.
        let start = try #require(lines.firstIndex(of: "  scopes:"))
        var scopes: [String: [String]] = [:]
        var current: String?
        for line in lines[(start + 1)...] {
            if line.hasPrefix("      ") {
                if let current { scopes[current, default: []].append(line.trimmingCharacters(in: .whitespaces)) }
            } else if line.hasPrefix("    ") {
                let name = Self.scopeName(line)
                scopes[name] = []
                current = name
            } else {
                break
            }
        }
        #expect(
            Set(scopes.keys) == [
                "read:jira-work", "read:jira-user", "read:filter:jira", "read:app-system-token", "read:app-user-token",
                "report:personal-data",
            ])
        for product in ["read:jira-work", "read:jira-user", "read:filter:jira"] {
            #expect(scopes[product] == ["allowImpersonation: true"], "\(product) allows offline impersonation")
        }
        #expect(!manifest.lowercased().contains("write:") && !manifest.contains("manage:"), "no write scope anywhere")
        #expect(manifest.contains("interval: hour"))
        #expect(manifest.contains("avi:forge:installed:app") && manifest.contains("avi:forge:upgraded:app"))
        // Every route the manifest names is one the API serves (the OpenAPI document is checked
        // against the router by OpenAPITests).
        let spec = try Self.text("docs/openapi.yaml")
        let routes = lines.filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("path: /") }
            .map { String($0.trimmingCharacters(in: .whitespaces).dropFirst("path: ".count)) }
        #expect(routes.sorted() == ["/forge/lifecycle", "/forge/trigger"])
        for route in routes { #expect(spec.contains("\n  \(route):"), "\(route) is served") }
        #expect(lines.contains { $0.contains("baseUrl: https://") }, "the remote is HTTPS")
    }

    private static func scopeName(_ line: String) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        // `read:filter:jira:` / `read:app-user-token: {}` — the name ends at the last ": " or the final ":".
        if let range = trimmed.range(of: ": ", options: .backwards) { return String(trimmed[..<range.lowerBound]) }
        return trimmed.hasSuffix(":") ? String(trimmed.dropLast()) : trimmed
    }

    /// The Custom UI (docs/forge-ui.md): the manifest's resource is what build-ui.sh writes from the
    /// sources, and the page reaches the backend only through bridge.js — no other module imports
    /// `@forge/bridge`, none fetches, none writes markup from a string, none stores anything.
    @Test func theCustomUIReachesTheBackendOnlyThroughTheBridge() throws {
        let manifest = try Self.text("deploy/forge/manifest.yml")
        #expect(manifest.contains("resource: main") && manifest.contains("path: static/reports/build"))
        let build = try Self.text("deploy/forge/build-ui.sh")
        #expect(build.contains("bundle app.js index.html static/reports/build"))
        let folder = Self.root.appendingPathComponent("deploy/forge/static/reports")
        #expect(try Self.text("deploy/forge/static/reports/index.html").contains("src=\"app.js\""))
        // The admin page: its own resource, bundled from admin.html and admin.js, and the Configure page.
        #expect(manifest.contains("resource: admin") && manifest.contains("path: static/reports/admin-build"))
        #expect(manifest.contains("jira:adminPage:") && manifest.contains("useAsConfig: true"))
        #expect(manifest.contains("key: onenote-reports-admin"))
        #expect(build.contains("bundle admin.js admin.html static/reports/admin-build"))
        #expect(try Self.text("deploy/forge/static/reports/admin.html").contains("src=\"admin.js\""))
        let scripts = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".js") }
        #expect(scripts.contains("bridge.js") && scripts.count > 3)
        for name in scripts {
            let code = try Self.text("deploy/forge/static/reports/" + name)
            #expect(
                code.contains("@forge/bridge") == (name == "bridge.js"), "\(name): only bridge.js imports @forge/bridge"
            )
            for banned in [
                "fetch(", "XMLHttpRequest", "innerHTML", "outerHTML", "insertAdjacentHTML", "localStorage",
                "sessionStorage", "document.cookie", "eval(", "window.open", ".style.",
            ] {
                #expect(!code.contains(banned), "\(name) uses \(banned)")
            }
        }
    }

}
