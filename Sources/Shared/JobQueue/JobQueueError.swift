public import ReportsSupport

/// A queue operation was refused. Messages never include payload contents.
public struct JobQueueError: OperatorMessageError, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidPayload
        case invalidKind
        case invalidArgument
        case uniqueKeyTaken
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func == (lhs: JobQueueError, rhs: JobQueueError) -> Bool { lhs.code == rhs.code }

    static let invalidPayload = JobQueueError(.invalidPayload, "the job payload is not valid JSON")
    static let invalidKind = JobQueueError(.invalidKind, "the job kind must be 1 to 100 characters")
    public static let uniqueKeyTaken = JobQueueError(
        .uniqueKeyTaken, "another job with the same unique key is already waiting or running")

    public static func invalidArgument(_ message: String) -> JobQueueError {
        JobQueueError(.invalidArgument, message)
    }
}
