import Synchronization

/// Wakes the workers of this process the moment a job is enqueued here, so "Run now" starts within
/// milliseconds. Workers in other processes see the commit through `JobQueue.changeObserver()`.
public final class QueueNotifier: Sendable {
    private let observers = Mutex<(next: Int, callbacks: [Int: @Sendable () -> Void])>((0, [:]))

    public init() {}

    /// Calls `callback` after every enqueue through a queue that shares this notifier.
    func observe(_ callback: @escaping @Sendable () -> Void) -> Int {
        observers.withLock { state in
            let id = state.next
            state.next += 1
            state.callbacks[id] = callback
            return id
        }
    }

    func removeObserver(_ id: Int) {
        observers.withLock { _ = $0.callbacks.removeValue(forKey: id) }
    }

    public func notify() {
        let callbacks = observers.withLock { Array($0.callbacks.values) }
        for callback in callbacks { callback() }
    }
}
