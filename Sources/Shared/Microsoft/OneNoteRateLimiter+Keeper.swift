public import Logging
public import ServiceLifecycle

extension OneNoteRateLimiter {
    /// Keeps a worker process's OneNote budget slots alive while it runs: frees the slots an
    /// earlier process with the same worker id left behind, then renews this process's slots every
    /// `interval`. When the process dies, the renewals stop and its slots lapse after the limiter's
    /// `slotLease` (seconds), not after the longest request could last. In a `ServiceGroup` it belongs
    /// *before* the worker runtime, so it is stopped after it: handlers finishing in the grace period keep
    /// their slots alive.
    public struct Keeper: Service {
        public let limiter: OneNoteRateLimiter
        public let workerId: String
        public let interval: Duration
        public let logger: Logger

        public init(limiter: OneNoteRateLimiter, workerId: String, interval: Duration = .seconds(3), logger: Logger) {
            self.limiter = limiter
            self.workerId = workerId
            self.interval = interval
            self.logger = logger
        }

        public func run() async throws {
            do {
                let freed = try await limiter.freeSlotsOfEarlierProcesses(workerId: workerId)
                if freed > 0 {
                    logger.notice(
                        "freed OneNote budget slots of an earlier process of this worker",
                        metadata: ["slots": "\(freed)"])
                }
            } catch {
                logger.error("could not free earlier OneNote budget slots", metadata: ["error": "\(type(of: error))"])
            }
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: interval)
                        try await limiter.renewSlots()
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.error("could not renew OneNote budget slots", metadata: ["error": "\(type(of: error))"])
                    }
                }
            }
        }
    }
}
