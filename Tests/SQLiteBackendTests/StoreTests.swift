import Foundation
import GRDB
import SecurityTesting
import TestSupport
import Testing

@testable import ReportsSupport
@testable import SQLiteBackend
@testable import ServiceSetup

@Suite("Store and configuration")
struct StoreTests {
    @Test func migrateCreatesEveryTableWithTheConnectionSettings() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("nested/dir/reports.sqlite")
        #expect(try ReportsDatabase.migrate(path: path) == ReportsDatabase.knownMigrations)
        #expect(try ReportsDatabase.migrate(path: path).isEmpty, "a second run has nothing to do")

        let database = try ReportsDatabase.open(path: path)
        let (tables, pragmas) = try await database.pool.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            let pragmas = try ["journal_mode", "synchronous", "foreign_keys", "busy_timeout"].map {
                try String.fetchOne(db, sql: "PRAGMA \($0)") ?? ""
            }
            return (Set(tables), pragmas)
        }
        #expect(
            tables.isSuperset(of: ["installations", "microsoft_connections", "reports", "jobs", "runs", "oauth_nonces"])
        )
        #expect(pragmas == ["wal", "1", "1", "10000"], "WAL, synchronous=NORMAL, foreign keys, 10 s busy timeout")
    }

    @Test func otherCommandsRefuseAMissingOrUnmigratedDatabaseWithoutCreatingIt() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("missing.sqlite")
        #expect(throws: StoreError.notInitialised()) { try ReportsDatabase.open(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))

        let empty = directory.file("empty.sqlite")
        _ = try DatabaseQueue(path: empty)
        #expect(throws: StoreError.notInitialised()) { try ReportsDatabase.open(path: empty) }
    }

    @Test func aSchemaNewerThanTheBinaryIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("reports.sqlite")
        try ReportsDatabase.migrate(path: path)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        let error = #expect(throws: StoreError.self) { try ReportsDatabase.open(path: path) }
        #expect(error == StoreError.schemaTooNew(unknown: []))
        #expect(error?.message.contains("v99-from-the-future") == true)
        // migrate refuses to touch it as well.
        #expect(throws: StoreError.schemaTooNew(unknown: [])) { try ReportsDatabase.migrate(path: path) }
    }

    @Test func aSchemaOlderThanTheBinaryIsRefused() throws {
        #expect(throws: StoreError.schemaTooOld(missing: [])) {
            try ReportsDatabase.checkSchema(applied: ["v1"], known: ["v1", "v2"])
        }
        #expect(throws: StoreError.schemaTooNew(unknown: [])) {
            try ReportsDatabase.checkSchema(applied: ["v1", "v2", "v3"], known: ["v1", "v2"])
        }
        #expect(throws: Never.self) { try ReportsDatabase.checkSchema(applied: ["v1", "v2"], known: ["v1", "v2"]) }
    }

    @Test func aCorruptFileOrAnImpossiblePathGivesAClearError() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let corrupt = directory.file("corrupt.sqlite")
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: corrupt))
        let openError = #expect(throws: StoreError.self) { try ReportsDatabase.open(path: corrupt) }
        #expect(openError == StoreError.cannotOpen(""))
        #expect(openError?.message.contains("REPORTS_DATABASE") == true)
        #expect(openError?.message.contains(corrupt) == false, "the path is not printed")
        #expect(throws: StoreError.cannotOpen("")) { try ReportsDatabase.migrate(path: corrupt) }

        let aFile = directory.file("plain-file")
        _ = FileManager.default.createFile(atPath: aFile, contents: Data("x".utf8))
        #expect(throws: StoreError.cannotOpen("")) { try ReportsDatabase.migrate(path: aFile + "/reports.sqlite") }
        #expect(throws: StoreError.cannotOpen("")) {
            try ReportsDatabase.migrate(path: aFile + "/deeper/reports.sqlite")
        }
    }

    @Test func concurrentMigratorsTakeTurns() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("reports.sqlite")
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { try ReportsDatabase.migrate(path: path) } }
            var all: [[String]] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(
            applied.filter { !$0.isEmpty } == [ReportsDatabase.knownMigrations],
            "exactly one migrator applied the schema")
        _ = try ReportsDatabase.open(path: path)
    }

    @Test func configurationDefaultsAndValidation() throws {
        #expect(try ReportsConfiguration(environment: [:]).databasePath == "./data/reports.sqlite")
        #expect(
            try ReportsConfiguration(environment: ["REPORTS_DATABASE": "/var/lib/reports/r.sqlite"]).databasePath
                == "/var/lib/reports/r.sqlite")
        for bad in ["", "/var/lib/reports/", ":memory:", "a\u{0}b", String(repeating: "x", count: 5000)] {
            let error = #expect(throws: ConfigurationError.self) {
                try ReportsConfiguration(environment: ["REPORTS_DATABASE": bad])
            }
            #expect(error?.variable == "REPORTS_DATABASE")
            #expect(error?.description.hasPrefix("configuration error: REPORTS_DATABASE ") == true)
            if !bad.isEmpty { #expect(error?.description.contains(bad) == false, "the value is never printed") }
        }
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test func iso8601MatchesFoundation() throws {
        var generator = SplitMix64(state: 99)
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...9_000_000_000_000, using: &generator)
            // Foundation's fraction comes from a Double and can be 1 ms low; compare whole seconds with it
            // and the milliseconds exactly.
            let millis = ((milliseconds % 1000) + 1000) % 1000
            let wholeSeconds = Date(timeIntervalSince1970: TimeInterval((milliseconds - millis) / 1000))
            let expected = wholeSeconds.formatted(.iso8601).dropLast() + "." + String(format: "%03lld", millis) + "Z"
            #expect(Timestamp.iso8601(milliseconds: milliseconds) == expected, "\(milliseconds)")
        }
        #expect(Timestamp.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(milliseconds: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }
}

@Suite("JSON text")
struct JSONTextTests {
    @Test func roundTripsThroughFoundationsParser() throws {
        let value: [String: Any] = [
            "b": [1, 2.5, true, NSNull(), "x"],
            "a": ["nested": "quote \" backslash \\ newline \n tab \t <script> \u{01} é 漢 🎉"],
            "n": -42, "big": Int64(9_000_000_000_000), "empty": [String: Any](), "list": [Any](),
        ]
        let text = JSONText.serialize(value)
        #expect(text.hasPrefix(#"{"a":"#), "keys sorted")
        #expect(!text.contains("<"), "no raw angle bracket")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(
            (parsed["a"] as? [String: String])?["nested"]
                == "quote \" backslash \\ newline \n tab \t <script> \u{01} é 漢 🎉")
        #expect((parsed["b"] as? [Any])?.count == 5)
        #expect(parsed["n"] as? Int == -42 && parsed["big"] as? Int64 == 9_000_000_000_000)
    }
}
