import ReportsSupport
import Synchronization

/// Keeps lines in memory (tests read them back).
package final class CapturingLogSink: LogSink {
    private let captured = Mutex<[String]>([])

    package init() {}

    package func write(line: String) { captured.withLock { $0.append(line) } }

    package var lines: [String] { captured.withLock { $0 } }
}
