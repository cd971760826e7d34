import Foundation
import Testing

@testable import Microsoft
@testable import Transport
@testable import Upstream

/// `Retry-After` is read in one place for every client.
@Suite("Retry-After")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    static func wait(_ value: String?) -> Duration? {
        OutboundResponse(status: 429, headers: value.map { ["retry-after": $0] } ?? [:]).retryAfter(now: now)
    }

    @Test func secondsDatesAndNonsense() {
        #expect(Self.wait("120") == .seconds(120))
        #expect(Self.wait(" 7 ") == .seconds(7), "surrounding spaces")
        #expect(Self.wait("1.5") == .milliseconds(1500), "a decimal, as the Atlassian client always took it")
        #expect(Self.wait("0") == .zero)
        // An HTTP-date 90 s ahead of now, and one in the past (no wait).
        #expect(Self.wait("Fri, 15 Jan 2027 08:01:30 GMT") == .seconds(90))
        #expect(Self.wait("Fri, 15 Jan 2027 07:00:00 GMT") == .zero)
        for nonsense in [nil, "", "soon", "-5", "1e3", "12 seconds", "86401", "Friday"] {
            #expect(Self.wait(nonsense) == nil, "\(nonsense ?? "nil")")
        }
    }

    @Test func everyClientTakesItTheSameWay() {
        // Graph and Microsoft identity errors carry the parsed wait, whatever form the header had.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let inAMinute = formatter.string(from: Date().addingTimeInterval(60))
        let graph = GraphClient.classify(OutboundResponse(status: 503, headers: ["Retry-After": inAMinute]))
        #expect(
            graph.kind == .transient && (graph.retryAfter ?? .zero) > .seconds(50),
            "\(String(describing: graph.retryAfter))")
        let decimal = GraphClient.classify(OutboundResponse(status: 429, headers: ["Retry-After": "2.5"]))
        #expect(decimal.retryAfter == .milliseconds(2500), "Graph read only whole seconds before")
    }
}
