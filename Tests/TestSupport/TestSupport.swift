package import Foundation
package import Logging
import ReportsSupport
import Synchronization

/// A fresh directory under the system temp folder; each test removes its own.
package struct TemporaryDirectory: Sendable {
    package let path: String

    package init() {
        var template = Array((NSTemporaryDirectory() + "reports-tests-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand, so lease expiry and backoff are checked without waiting.
package final class TestClock: Sendable {
    private let current: Mutex<Date>

    package init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    package var now: Date { current.withLock { $0 } }

    package func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }
}

/// Waits for a condition with a deadline: the only way these tests synchronise with other processes.
package func waitUntil(timeout: Duration, pollEvery: Duration = .milliseconds(10), _ condition: () async throws -> Bool)
    async throws -> Bool
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: pollEvery)
    }
    return try await condition()
}

/// A logger that drops everything, for code under test that must be handed one.
package let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
