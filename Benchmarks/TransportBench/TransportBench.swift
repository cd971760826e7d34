import ArgumentParser
import Foundation
import Transport

#if canImport(Glibc)
    import Glibc
#endif

/// Outbound HTTP: the service's transport (`CurlTransport`, libcurl directly) against the one it replaced
/// (`URLSessionBaseline`), in the same run, on the same loopback server (Benchmarks/transport/run.sh
/// starts nginx with static answers). For each answer size and concurrency: requests a second, the
/// process's CPU time per request (user + system, from getrusage), and the median latency.
@main
struct TransportBench: AsyncParsableCommand {
    @Option(help: "Base URL of the loopback server (serves /small.json and /page.json).") var base: String
    @Option(help: "Requests per measurement.") var requests = 2_000
    @Option(help: "Rounds; each runs every transport once, alternating, and the median round is reported.")
    var rounds = 3

    func run() async throws {
        let transports: [(String, any HTTPTransport)] = [
            ("URLSession (before)", URLSessionBaseline(policy: .sandbox)),
            ("libcurl (now)", CurlTransport(policy: .sandbox)),
        ]
        print("| answer | concurrency | transport | requests/s | CPU µs/request | median ms |")
        print("| --- | ---: | --- | ---: | ---: | ---: |")
        for (path, label) in [("small.json", "2 KB"), ("page.json", "1 MB")] {
            let count = path == "page.json" ? max(requests / 10, 50) : requests
            for concurrency in [1, 16] {
                var results: [String: [Measurement]] = [:]
                for _ in 0..<rounds {
                    for (name, transport) in transports {
                        let url = URL(string: "\(base)/\(path)")!
                        results[name, default: []].append(
                            try await Self.measure(transport, url: url, count: count, concurrency: concurrency))
                    }
                }
                for (name, _) in transports {
                    let median = results[name]!.sorted { $0.perSecond < $1.perSecond }[rounds / 2]
                    print(
                        "| \(label) | \(concurrency) | \(name) | \(Int(median.perSecond)) | "
                            + "\(Int(median.cpuMicroseconds)) | \(String(format: "%.2f", median.medianMilliseconds)) |")
                }
            }
        }
    }

    struct Measurement {
        let perSecond: Double
        let cpuMicroseconds: Double
        let medianMilliseconds: Double
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func measure(_ transport: any HTTPTransport, url: URL, count: Int, concurrency: Int) async throws
        -> Measurement
    {
        // Warm up: connections opened, code paths faulted in.
        for _ in 0..<20 { _ = try await transport.send(OutboundRequest(url: url)) }
        let cpuBefore = cpuSeconds()
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    for _ in stride(from: worker, to: count, by: concurrency) {
                        let begun = ContinuousClock.now
                        let response = try await transport.send(OutboundRequest(url: url))
                        guard response.status == 200 else { throw BenchError(status: response.status) }
                        let elapsed = ContinuousClock.now - begun
                        mine.append(
                            Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let wall = ContinuousClock.now - started
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let cpu = cpuSeconds() - cpuBefore
        return Measurement(
            perSecond: Double(count) / seconds, cpuMicroseconds: cpu / Double(count) * 1e6,
            medianMilliseconds: latencies.sorted()[latencies.count / 2])
    }

    struct BenchError: Error { let status: Int }
}
