import Foundation
import Hummingbird
import NIOCore
import Reports
import ReportsSupport

/// Request bodies: JSON objects only, at most 64 KB, no unknown fields, every field of the right type.
enum JSONBody {
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: APIRequestContext, allowedFields: Set<String>,
        nestedFields: [String: Set<String>] = [:]
    ) async throws -> T {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, .unsupportedMediaType, "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, .bodyTooLarge, "the request body is larger than 64 KB")
        }
        do {
            return try JSONObjectBody.decode(
                T.self, from: Data(buffer.readableBytesView), allowedFields: allowedFields, nestedFields: nestedFields)
        } catch {
            throw APIError(.badRequest, error.code, error.message)
        }
    }
}

/// What the API answers: JSON objects built here, so nothing unintended (a ciphertext, a token)
/// can slip into a response through a stored type's `Encodable`.
