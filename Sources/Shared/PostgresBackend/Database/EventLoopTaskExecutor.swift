import NIOCore

/// Runs a task's nonisolated code on one NIO event loop, in the loop's own turns, so that code can act
/// on a channel of that loop without another turn (a close, a read) slipping in between two of its
/// steps. Used by the checked statements (`CheckedStatements.swift`).
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
