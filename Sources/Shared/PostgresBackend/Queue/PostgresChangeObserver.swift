import JobQueue
import PostgresNIO
import Synchronization

/// Tells an idle worker that work may have arrived, on any host: it LISTENs on the queue's channel,
/// to which every commit that makes work available sends a NOTIFY (PostgresJobQueue.notify). The
/// listening connection is the observer's own long-running work (`run`), reconnected with backoff when
/// the server goes away; while it is down, `hasChanged` answers yes, so the worker's slow poll
/// becomes the fallback.
final class PostgresChangeObserver: JobQueueChangeObserver {
    private struct State {
        var changed = false
        var listening = false
    }

    private let database: PostgresReportsDatabase
    private let channel: String
    private let state = Mutex(State())
    private let events: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init(database: PostgresReportsDatabase, channel: String) {
        self.database = database
        self.channel = channel
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var activity: AsyncStream<Void>? { events }

    func hasChanged() async throws -> Bool {
        state.withLock { state in
            defer { state.changed = false }
            return state.changed || !state.listening
        }
    }

    func run() async throws {
        var pause = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await database.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        // A commit made before LISTEN took effect would be missed: report one at once.
                        state.withLock { $0 = State(changed: true, listening: true) }
                        continuation.yield()
                        pause = .milliseconds(100)
                        for try await _ in notifications {
                            state.withLock { $0.changed = true }
                            continuation.yield()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
            }
            state.withLock { $0.listening = false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
        continuation.finish()
    }
}
