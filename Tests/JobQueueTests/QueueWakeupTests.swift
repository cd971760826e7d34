import Foundation
import QueueTesting
import TestSupport
import Testing

@testable import JobQueue
@testable import SQLiteBackend
@testable import ServiceSetup

/// How a worker hears of commits made by other connections: an inotify watch on the
/// database's folder, armed only while the worker waits for work.
@Suite("Queue wake-ups across connections (real SQLite file, real inotify)")
struct QueueWakeupTests {
    /// The watches an inotify descriptor holds, as the kernel lists them in /proc/self/fdinfo.
    private static func kernelWatchCount(_ watch: FileActivityWatch) throws -> Int {
        let info = try String(contentsOfFile: "/proc/self/fdinfo/\(watch.descriptor)", encoding: .utf8)
        return info.split(separator: "\n").filter { $0.hasPrefix("inotify wd:") }.count
    }

    /// Whether the stream yields within `timeout` (a deadline, so a missing event fails, not hangs).
    private static func reports(_ events: AsyncStream<Void>, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                var iterator = events.makeAsyncIterator()
                return await iterator.next() != nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @Test func aDisarmedWatchHoldsNoKernelWatchAndArmingReportsAtOnce() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let watch = try #require(FileActivityWatch(directory: directory.path, namePrefix: "reports.sqlite"))
        #expect(try Self.kernelWatchCount(watch) == 1)

        watch.setArmed(false)
        #expect(try Self.kernelWatchCount(watch) == 0)
        // A commit while disarmed makes no event; arming reports once at once, so it is not missed.
        try Data("frame".utf8).write(to: URL(fileURLWithPath: directory.file("reports.sqlite-wal")))
        watch.setArmed(true)
        #expect(try Self.kernelWatchCount(watch) == 1)
        #expect(await Self.reports(watch.events, within: .seconds(10)))

        // Armed, a write reports.
        try Data("frame 2".utf8).write(to: URL(fileURLWithPath: directory.file("reports.sqlite-wal")))
        #expect(await Self.reports(watch.events, within: .seconds(10)))
    }

    @Test func anIdleWorkerHearsAnotherConnectionsCommitAfterBeingBusy() async throws {
        let fixture = try QueueFixture(realClock: true)
        defer { fixture.remove() }
        // A second queue on the same file: its enqueues reach the worker only through the file system
        // (the in-process notifier is the fixture queue's), and polling is slowed to a minute.
        let other = SQLiteJobQueue(database: try ReportsDatabase.open(path: fixture.directory.file("reports.sqlite")))
        let handler = RecordingHandler(sleep: .milliseconds(20))
        // Enough jobs that leases come back full first: the worker is busy and disarms its watch.
        _ = try await other.enqueue((0..<12).map { _ in rawJob("record") })
        let runtime = WorkerRuntime(
            queue: fixture.queue, registry: JobRegistry([handler]),
            configuration: WorkerConfiguration(
                workerId: "w1", concurrency: 2, pollInterval: .seconds(60), maxLeaseBatch: 2),
            logger: silentLogger)
        try await withRuntime(runtime) { () async throws in
            // Settled, so no handler is left to wake the worker: it is idle and must hear the next commit.
            #expect(try await waitUntil(timeout: .seconds(20)) { try await fixture.queue.stats().succeeded == 12 })
            for round in 1...3 {
                _ = try await other.enqueue(rawJob("record"))
                #expect(
                    try await waitUntil(timeout: .seconds(20)) {
                        try await fixture.queue.stats().succeeded == 12 + round
                    })
            }
        }
    }

    @Test func keepingFreedMemoryIsApplied() {
        // The worker's allocator setting (BENCHMARKS.md): the symbol is found and glibc accepts it.
        #expect(ProcessSupport.keepFreedMemory())
    }
}
