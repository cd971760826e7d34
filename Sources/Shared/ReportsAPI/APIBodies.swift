import Foundation
import Hummingbird
import NIOCore
import Reports
import ReportsSupport

/// Request bodies: JSON objects only, at most 64 KB, no unknown fields, every field of the right type.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: APIRequestContext, allowedFields: Set<String>) async throws -> T {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than 64 KB")
        }
        do {
            return try JSONObjectBody.decode(T.self, from: Data(buffer.readableBytesView), allowedFields: allowedFields)
        } catch {
            throw APIError.badRequest(error.code, error.message)
        }
    }
}

/// What the API answers: JSON objects built here, so nothing unintended (a ciphertext, a token)
/// can slip into a response through a stored type's `Encodable`.
enum JSONView {
    static func time(_ milliseconds: Int64?) -> Any {
        milliseconds.map { Timestamp.iso8601(milliseconds: $0) } ?? NSNull()
    }

    static func report(_ report: Report) -> [String: Any] {
        let definition = report.definition
        return [
            "id": report.id, "name": report.name, "jql": report.jql ?? NSNull(), "filterId": report.filterId ?? NSNull(),
            "columns": definition.columns, "sectionId": report.sectionId,
            "schedule": definition.schedule.map { ["cron": $0.cron, "timeZone": $0.timeZone] as [String: Any] } ?? NSNull(),
            "enabled": report.enabled, "pageUrl": report.pageUrl ?? NSNull(), "nextRunAt": time(report.nextRunAt),
            "createdAt": time(report.createdAt), "updatedAt": time(report.updatedAt),
        ]
    }

    static func run(_ run: ReportRun) -> [String: Any] {
        [
            "id": run.id, "reportId": run.reportId, "trigger": run.trigger.rawValue, "status": run.status.rawValue,
            "queuedAt": time(run.queuedAt), "startedAt": time(run.startedAt), "finishedAt": time(run.finishedAt),
            "issueCount": run.issueCount ?? NSNull(), "pageUrl": run.pageUrl ?? NSNull(),
            // `error` is the final failure only; an attempt that failed and will be retried shows as
            // `lastError` with `nextAttemptAt` while the run is queued or running (issue #12).
            "error": run.status == .failed ? run.errorCode.map { ["code": $0, "message": run.errorMessage ?? ""] as [String: Any] } ?? NSNull() : NSNull(),
            "lastError": run.status != .failed && run.status != .succeeded
                ? run.errorCode.map { ["code": $0, "message": run.errorMessage ?? ""] as [String: Any] } ?? NSNull() : NSNull(),
            "nextAttemptAt": time(run.nextAttemptAt),
        ]
    }
}
