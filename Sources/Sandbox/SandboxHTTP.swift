import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReportsSupport

/// Small helpers the sandbox's routes share.
enum SandboxHTTP {
    static func json(_ status: HTTPResponse.Status, _ body: Any, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return Response(
            status: status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(string: JSONText.serialize(body, escapeAngleBrackets: false))))
    }

    static func body(_ request: Request, limit: Int = 8 << 20) async throws -> Data {
        Data(try await request.body.collect(upTo: limit).readableBytesView)
    }

    /// The body as a JSON object; nil for anything else, a repeated key included (JSONSerialization
    /// would keep the last one silently).
    static func jsonObject(_ request: Request) async throws -> [String: Any]? {
        let data = try await body(request)
        guard JSONDuplicateKeys.first(in: data) == nil else { return nil }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    static func form(_ request: Request) async throws -> [String: String] {
        var form: [String: String] = [:]
        for pair in String(decoding: try await body(request), as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            form[decode(parts[0])] = parts.count == 2 ? decode(parts[1]) : ""
        }
        return form
    }

    /// `http://<host:port>` of this sandbox as the caller reached it (it listens on loopback only).
    static func origin(_ request: Request) -> String {
        "http://\(request.head.authority ?? "127.0.0.1")"
    }

    /// Jira's error body (docs/atlassian-apis.md §4, §5): `{"errorMessages":[…],"errors":{}}`.
    static func jiraError(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, ["errorMessages": [message], "errors": [String: Any]()])
    }
}
