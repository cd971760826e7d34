import Foundation
package import JobQueue
package import Rendering
package import Reports
import Synchronization

/// A `ReportDestination` that keeps what it is given: the reference for what the run handler asks of
/// any destination. A refusal is thrown where the destination would refuse (`open`: a spent budget,
/// no connection); `write` records the document and reports one page to the recorder.
package final class RecordingDestination: ReportDestination {
    package enum Step: Sendable, Equatable { case open, write }

    struct Contents: Sendable {
        var steps: [Step] = []
        var documents: [ReportDocument] = []
    }

    private let refusals: [Step: any Error]
    private let contents = Mutex(Contents())

    package init(refusing refusals: [Step: any Error] = [:]) {
        self.refusals = refusals
    }

    /// The calls the handler made, in order.
    package var steps: [Step] { contents.withLock { $0.steps } }
    package var documents: [ReportDocument] { contents.withLock { $0.documents } }

    func take(_ step: Step) throws {
        contents.withLock { $0.steps.append(step) }
        if let refusal = refusals[step] { throw refusal }
    }

    package func open(for owner: ReportOwner, job: JobContext) async throws -> any DestinationWrite {
        try take(.open)
        return Write(destination: self)
    }

    struct Write: DestinationWrite {
        let destination: RecordingDestination

        func write(_ document: ReportDocument, report: Report, page: ReportPage, recorder: any RunPageRecorder)
            async throws -> WrittenPage
        {
            try destination.take(.write)
            destination.contents.withLock { $0.documents.append(document) }
            let written = WrittenPage(id: page.id ?? "page-\(report.id)", url: nil, created: page.id == nil)
            try await recorder.pageKnown(written)
            return written
        }
    }
}
