import Foundation
import ReportsTesting
import TestSupport
import Testing

@testable import Reports

#if canImport(Glibc)
    import Glibc
#endif

/// Tenant data commands through real processes on both backends: `enqueuer tenant delete` and `enqueuer data stats`
/// as an operator runs them, and a worker applying the retention rules when it starts.
@Suite("Data lifecycle commands")
struct DataCommandTests {
    @Test(arguments: StorageBackend.allCases)
    func tenantDeleteSaysWhatItDeletedAndDataStatsCountsRows(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition("Alice's"))
            _ = try await stores.reports.create(stores.bob, ReportFixture.definition("Bob's"))
            _ = try await stores.reports.create(stores.eve, ReportFixture.definition("Eve's, another site"))
            _ = try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: nil)
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let environment = ["REPORTS_DATABASE": stores.location, "REPORTS_LOG_LEVEL": "error"]

            // One person first: Alice's report, its run and job; Bob's report stays.
            let person = try await ChildProcess.run(
                "enqueuer",
                [
                    "tenant", "delete", "--installation", ReportFixture.installationA, "--account",
                    stores.alice.accountId,
                ],
                environment: environment, in: directory)
            #expect(person.status == 0, "\(person.output)")
            let erased = try #require(
                try JSONSerialization.jsonObject(with: Data(person.output.utf8)) as? [String: Any], "\(person.output)")
            #expect(erased["reports"] as? Int == 1 && erased["runs"] as? Int == 1 && erased["jobs"] as? Int == 1)
            let nobody = try await ChildProcess.run(
                "enqueuer",
                [
                    "tenant", "delete", "--installation", ReportFixture.installationA, "--account",
                    stores.alice.accountId,
                ],
                environment: environment, in: directory)
            #expect(nobody.status == 0 && nobody.output.contains("nothing deleted"), "\(nobody.output)")

            let deleted = try await ChildProcess.run(
                "enqueuer", ["tenant", "delete", "--installation", ReportFixture.installationA],
                environment: environment, in: directory)
            #expect(deleted.status == 0, "\(deleted.output)")
            let said = try #require(
                try JSONSerialization.jsonObject(with: Data(deleted.output.utf8)) as? [String: Any], "\(deleted.output)"
            )
            #expect(said["installationId"] as? String == ReportFixture.installationA)
            #expect(said["reports"] as? Int == 1 && said["runs"] as? Int == 0 && said["jobs"] as? Int == 0, "Bob's")

            let again = try await ChildProcess.run(
                "enqueuer", ["tenant", "delete", "--installation", ReportFixture.installationA],
                environment: environment, in: directory)
            #expect(again.status == 0 && again.output.contains("nothing deleted"), "\(again.output)")

            let stats = try await ChildProcess.run(
                "enqueuer", ["data", "stats"], environment: environment, in: directory)
            #expect(stats.status == 0, "\(stats.output)")
            let counts = try #require(
                try JSONSerialization.jsonObject(with: Data(stats.output.utf8)) as? [String: Int], "\(stats.output)")
            #expect(Set(counts.keys) == Set(storedTables))
            #expect(counts["installations"] == 1 && counts["reports"] == 1, "site B's")
            #expect(counts["runs"] == 0 && counts["jobs"] == 0 && counts["microsoft_connections"] == 0)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func aWorkerAppliesTheRetentionRulesWhenItStarts(_ backend: StorageBackend) async throws {
        try await backend.withStores { stores in
            try await stores.addInstallations()
            let report = try await stores.reports.create(stores.alice, ReportFixture.definition("Hourly"))
            // The worker runs on the real clock: these runs are recent, so only the count rule applies.
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for index in 0..<5 {
                try await stores.insertRun(
                    "r\(index)", report: report.id, queuedAt: now - Int64(index) * 3_600_000, status: "succeeded")
            }
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let worker = try ChildProcess(
                "worker", ["run", "--id", "retention-test"],
                environment: [
                    "REPORTS_DATABASE": stores.location, "REPORTS_LOG_LEVEL": "info",
                    "REPORTS_RUNS_KEPT_PER_REPORT": "2",
                ],
                outputPath: directory.file("worker.log"))
            defer { if worker.isRunning { worker.signal(SIGKILL) } }
            let pruned = try await waitUntil(timeout: .seconds(30), pollEvery: .milliseconds(50)) {
                try await stores.integers("SELECT count(*) FROM runs") == [2]
            }
            #expect(pruned, "\(worker.output)")
            #expect(try await stores.runIds(report: report.id) == ["r0", "r1"])
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit(timeout: .seconds(30)) == 0)
            #expect(worker.output.contains("retention pass deleted expired data"), "\(worker.output)")
        }
    }
}
