import ArgumentParser
import Foundation
import JobQueue
import Reports
import ReportsSupport
import ServiceSetup
import StorageBackends

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Inspect and operate the job queue.",
        subcommands: [Stats.self, List.self, Retry.self, Discard.self, EnqueueDiagnostic.self]
    )
}

extension QueueCommand {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Jobs per state, keys waiting, jobs deferred, the oldest due job's age and how late scheduled runs are."
        )

        @Flag(help: "Print one JSON object.") var json = false

        func run() async throws {
            let (stats, lateness) = try await withStorage("reports.queue") { storage in
                (try await storage.queue.stats(), try await storage.readings.scheduleLateness())
            }
            if json { return try printJSON(Report(stats: stats, scheduleLateness: lateness)) }
            for state in JobState.allCases {
                print("\(state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(stats.count(state))")
            }
            print("scheduled  \(stats.scheduled) (available, not yet due)")
            print("oldest due job waited \(String(format: "%.3f", stats.oldestAvailableAgeSeconds)) s")
            print("keys waiting \(stats.keysWaiting) (users with a due job)")
            for (reason, count) in stats.deferred.sorted(by: { $0.key < $1.key }) {
                print("deferred   \(count) waiting: \(reason)")
            }
            for (name, stage) in [("enqueued", lateness.enqueued), ("started", lateness.started)] {
                print(
                    "scheduled runs, slot -> \(name): \(stage.runs) in the last hour, p95 \(String(format: "%.1f", stage.p95Seconds)) s, max \(String(format: "%.1f", stage.maxSeconds)) s"
                )
            }
        }

        /// The queue's counts with the schedule's lateness beside them, as one JSON object.
        struct Report: Encodable {
            let stats: QueueStats
            let scheduleLateness: ScheduleLateness

            enum CodingKeys: String, CodingKey { case scheduleLateness }

            func encode(to encoder: any Encoder) throws {
                try stats.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(scheduleLateness, forKey: .scheduleLateness)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs in one state, oldest first (payloads are not shown).")

        @Option(help: "available, running, succeeded or discarded.") var state: String
        @Option(help: "Most jobs to list.") var limit = 50
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            guard limit >= 1 && limit <= 10_000 else { throw ValidationError("--limit must be between 1 and 10000") }
            guard JobState(rawValue: state) != nil else {
                throw ValidationError(
                    "--state must be one of: \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let jobs = try await withStorage("reports.queue") { storage in
                try await storage.queue.list(state: JobState(rawValue: state)!, limit: limit)
            }
            if json { return try printJSON(["jobs": jobs]) }
            for job in jobs {
                var line = "\(job.id) \(job.kind) priority=\(job.priority) attempt=\(job.attempt)/\(job.maxAttempts)"
                line += " run_at=\(Self.format(job.runAt))"
                if let worker = job.workerId { line += " worker=\(worker)" }
                if !job.fairnessKey.isEmpty { line += " key=\(job.fairnessKey)" }
                if let reason = job.waitReason { line += " waiting_for=\(reason)" }
                if let error = job.lastError { line += " last_error=\"\(error)\"" }
                print(line)
            }
        }

        static func format(_ milliseconds: Int64) -> String {
            ISO8601DateFormatter().string(from: Timestamp.date(milliseconds: milliseconds))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a discarded (or waiting) job again now, with a fresh set of attempts.")

        @Argument(help: "The job id.") var id: Int64

        func run() async throws {
            do {
                try report(
                    try await withStorage("reports.queue") { try await $0.queue.retry(jobId: id) },
                    action: "queued for retry")
            } catch let error as JobQueueError {
                ProcessSupport.fail(program: "enqueuer", "job \(id): \(error.message)")
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Discard a waiting or running job (a running job's worker loses its lease).")

        @Argument(help: "The job id.") var id: Int64

        func run() async throws {
            try report(
                try await withStorage("reports.queue") { try await $0.queue.discard(jobId: id) }, action: "discarded")
        }
    }

    struct EnqueueDiagnostic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enqueue-diagnostic",
            abstract: "Enqueue diagnostic jobs: the self-test and the benchmarks' load.")

        @Option(help: "How many jobs.") var count: Int
        @Option(name: .customLong("sleep-ms"), help: "Each job sleeps this long.") var sleepMs = 0
        @Option(name: .customLong("fail-times"), help: "Each job fails retryably on its first K attempts.")
        var failTimes = 0
        @Option(
            name: .customLong("record-file"), help: "On success each job appends '<jobId> <attempt> <workerId>' here.")
        var recordFile: String?
        @Option(help: "Higher runs first.") var priority = 0
        @Option(name: .customLong("max-attempts"), help: "Attempts before a job is discarded.") var maxAttempts = NewJob
            .defaultMaxAttempts
        @Flag(help: "Print one JSON object.") var json = false

        func validate() throws {
            guard count >= 1 && count <= 10_000_000 else {
                throw ValidationError("--count must be between 1 and 10000000")
            }
            guard sleepMs >= 0 && sleepMs <= 3_600_000 else {
                throw ValidationError("--sleep-ms must be between 0 and 3600000")
            }
            guard failTimes >= 0 else { throw ValidationError("--fail-times must not be negative") }
            guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
            if let recordFile, recordFile.isEmpty { throw ValidationError("--record-file must not be empty") }
        }

        func run() async throws {
            let parameters = DiagnosticJob.Parameters(
                sleepMs: sleepMs, failTimes: failTimes,
                recordFile: recordFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
            let job = try NewJob(
                kind: DiagnosticJob.kind, parameters: parameters, priority: priority, maxAttempts: maxAttempts)
            let count = count
            let (first, last) = try await withStorage("reports.queue") { storage -> (Int64?, Int64?) in
                let queue = storage.queue
                var first: Int64?
                var last: Int64?
                var remaining = count
                // Batches keep each transaction short so running workers are not held up.
                while remaining > 0 {
                    let batch = min(remaining, 1000)
                    let results = try await queue.enqueue(Array(repeating: job, count: batch))
                    first = first ?? results.first?.jobId
                    last = results.last?.jobId
                    remaining -= batch
                }
                return (first, last)
            }
            if json {
                try printJSON(EnqueueSummary(enqueued: count, firstJobId: first ?? 0, lastJobId: last ?? 0))
            } else {
                print("enqueued \(count) diagnostic jobs (ids \(first ?? 0)...\(last ?? 0))")
            }
        }
    }
}

struct EnqueueSummary: Encodable {
    let enqueued: Int
    let firstJobId: Int64
    let lastJobId: Int64
}

private func report(_ result: AdminResult, action: String) throws {
    switch result {
    case .changed:
        print(action)
    case .notFound:
        ProcessSupport.fail(program: "enqueuer", "no such job")
    case .notApplicable(let state):
        ProcessSupport.fail(program: "enqueuer", "the job is \(state.rawValue); nothing done")
    }
}
