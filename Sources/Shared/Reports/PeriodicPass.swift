import ServiceLifecycle

/// The loop of a service that does one pass at start and one every `interval` until the process shuts
/// down gracefully (retention, personal data reporting): a pass handles its own errors, so one failed
/// pass never ends the loop. Graceful shutdown cancels the task: the wait ends at once, and a pass in
/// flight sees the cancellation at its next await (its deletions are transactions: each lands whole or not).
func repeatUntilShutdown(every interval: Duration, _ pass: @escaping @Sendable () async -> Void) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await pass()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}
