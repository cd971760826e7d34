import Foundation
import JobQueue
import Rendering
import Reports
import ReportsTesting
import TestSupport

/// What a report's snapshot costs the run that reads and the run that writes it, on each backend,
/// through the queue the worker uses: the lease (whose transaction reads the run's claim, with the
/// report's last snapshot) and the settle of a success (which writes the new one in the same transaction).
///
/// `snapshot-bench [issues] [rounds]`: alternates runs whose snapshot is `issues` issues of 10 columns
/// with runs whose snapshot is 3 bytes, so the difference of the two medians is the snapshot's own cost
/// in the database (with the outcome's hand-over from the handler to the queue, which carries it);
/// the snapshot's own encoding and decoding are timed apart. PostgreSQL is a throwaway
/// cluster started on loopback (`initdb` on the PATH), as in the tests.
@main
struct SnapshotBench {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
        let count = arguments.first ?? 5000
        let rounds = arguments.dropFirst().first ?? 20
        var random = SystemRandomNumberGenerator()
        let columns = (0..<10).map { "column_\($0)" }
        let snapshot = ReportSnapshot(
            takenAt: Date(), columns: columns,
            issues: (0..<count).map { index in
                ReportSnapshot.Issue(
                    key: "OPS-\(index + 1)", status: ["To Do", "In Progress", "Done"][index % 3],
                    cells: columns.map { _ in UInt32.random(in: 0...UInt32.max, using: &random) })
            })
        var encodeMs: [Double] = []
        var decodeMs: [Double] = []
        var bytes = Data()
        for _ in 0..<rounds {
            bytes = measure(&encodeMs) { snapshot.encoded() }
            _ = measure(&decodeMs) { ReportSnapshot(encoded: bytes) }
        }
        print("snapshot-bench: \(count) issues × 10 columns, \(bytes.count / 1024) KB, \(rounds) rounds per series")
        print(String(format: "bytes: encode %.1f ms, decode %.1f ms (medians)", median(encodeMs), median(decodeMs)))
        let full = bytes
        for backend in StorageBackend.allCases {
            let (claims, settles) = try await series(backend, full: full, rounds: rounds)
            print(
                String(
                    format:
                        "%@: lease with the claim %.2f ms with the snapshot, %.2f ms with 3 bytes; settle %.2f ms with it, %.2f ms with 3 bytes",
                    "\(backend)", median(claims.full), median(claims.tiny), median(settles.full), median(settles.tiny)))
        }
    }

    struct Series: Sendable {
        var full: [Double] = []
        var tiny: [Double] = []
    }

    static func series(_ backend: StorageBackend, full: Data, rounds: Int) async throws -> (Series, Series) {
        try await backend.withStores(clockStart: Date()) { stores in
            try await runs(stores, full: full, rounds: rounds)
        }
    }

    /// Run after run of one report: each lease's claim reads what the settle before it wrote.
    static func runs(_ stores: StoresUnderTest, full: Data, rounds: Int) async throws -> (Series, Series) {
        try await stores.addInstallations()
        let report = try await stores.reports.create(stores.alice, ReportFixture.definition())
        var claims = Series()
        var settles = Series()
        var lastWasFull = false
        for index in 0..<(2 * rounds + 1) {
            let writeFull = index % 2 == 0
            stores.clock.advance(by: .seconds(61))  // past the Run now rate limit
            guard try await stores.runs.requestRun(stores.alice, reportId: report.id, userToken: nil).run != nil else {
                throw BenchError("no run requested")
            }
            // The claim (and with it the snapshot) is read in the transaction that leases the job.
            let start = ContinuousClock.now
            guard
                let job = try await stores.queue.lease(
                    LeaseRequest(workerId: "bench", limit: 1, leaseDuration: .seconds(30))
                ).first
            else { throw BenchError("no run to lease") }
            let claimed = ContinuousClock.now
            guard job.claim is RunClaim else { throw BenchError("the lease read no claim") }
            // The handler hands its outcome over as bytes; the settle reads them back.
            let outcome = RunOutcome(issueCount: 1, pageUrl: nil, snapshot: writeFull ? full : Data([1, 2, 3]))
            let settled = try await stores.queue.settle([
                SettledJob(lease: job.lease, outcome: .succeeded, result: outcome.jobResult)
            ])
            let end = ContinuousClock.now
            guard settled == [.applied(.succeeded)] else { throw BenchError("settle: \(settled)") }
            if index > 0 {  // the first claim reads no snapshot at all
                if lastWasFull {
                    claims.full.append(ms(claimed - start))
                } else {
                    claims.tiny.append(ms(claimed - start))
                }
            }
            if writeFull { settles.full.append(ms(end - claimed)) } else { settles.tiny.append(ms(end - claimed)) }
            lastWasFull = writeFull
        }
        return (claims, settles)
    }

    static func measure<Result>(_ series: inout [Double], _ body: () -> Result) -> Result {
        let start = ContinuousClock.now
        let result = body()
        series.append(ms(ContinuousClock.now - start))
        return result
    }

    static func ms(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func median(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.sorted()[values.count / 2]
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
