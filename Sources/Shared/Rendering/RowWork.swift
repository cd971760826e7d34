import Dispatch
import Foundation

/// A report's rows worked on by every core of the host: each row's cells (and later its markup) depend
/// on that row alone, so contiguous slices of rows are built at once and put back in order. A report
/// of a few hundred rows is done on the caller's thread (threads would cost more than they save).
///
/// The caller waits until every slice is done (`DispatchQueue.concurrentPerform`): nothing outlives
/// the call, and the work is the same whichever thread does it, so the output is the same bytes as a
/// one-thread build (the golden pages hold either way). On a host with one core it is one slice.
package enum RowWork {
    /// Rows below which a slice is not worth a thread.
    package static let minimumSliceRows = 256

    /// `body` over `0..<count` cut into contiguous ranges, in order; the slices run concurrently.
    /// `body` must only read what it shares with the other slices.
    package static func slices<Slice>(of count: Int, _ body: (Range<Int>) -> Slice) -> [Slice] {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        // A few slices per core, so a core slowed by another process leaves its share to the others.
        let sliceCount = max(1, min(threads * 4, count / minimumSliceRows))
        guard threads > 1, sliceCount > 1 else { return [body(0..<count)] }
        // Dispatch asks for a sendable closure; the slices share only what `body` reads (the contract
        // above) and each writes its own element of the output, so the two are handed over unchecked.
        return withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            return [Slice](unsafeUninitializedCapacity: sliceCount) { buffer, initialized in
                nonisolated(unsafe) let base = buffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: sliceCount) { slice in
                    let range = (slice * count / sliceCount)..<((slice + 1) * count / sliceCount)
                    (base + slice).initialize(to: body(range))
                }
                initialized = sliceCount
            }
        }
    }

    /// `transform` of each of `0..<count`, in order, worked on as `slices` are.
    package static func map<Element>(_ count: Int, _ transform: (Int) -> Element) -> [Element] {
        let slices = slices(of: count) { range in range.map(transform) }
        if slices.count == 1 { return slices[0] }
        var output: [Element] = []
        output.reserveCapacity(count)
        for slice in slices { output.append(contentsOf: slice) }
        return output
    }
}
