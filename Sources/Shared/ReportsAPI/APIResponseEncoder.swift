import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import ReportsSupport

/// Writes every JSON answer of the API: the typed response, through `JSONTreeEncoder`, with the
/// headers every answer carries (JSON in UTF-8, never cached: answers hold a user's own data).
public struct APIResponseEncoder: ResponseEncoder {
    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response
    {
        try Self.response(.ok, value)
    }

    static func response(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: try JSONTreeEncoder.serialize(value))))
    }
}

extension ReportResponse: ResponseEncodable {}
extension ReportListResponse: ResponseEncodable {}
extension RunResponse: ResponseEncodable {}
extension RunListResponse: ResponseEncodable {}
extension RunRequestResponse: ResponseEncodable {}
extension SiteAdminResponse: ResponseEncodable {}
extension SchedulesSwitchResponse: ResponseEncodable {}
extension MeResponse: ResponseEncodable {}
extension SectionListResponse: ResponseEncodable {}
extension FilterListResponse: ResponseEncodable {}
extension FieldListResponse: ResponseEncodable {}
extension ConnectStartResponse: ResponseEncodable {}
extension HealthResponse: ResponseEncodable {}
extension EmptyResponse: ResponseEncodable {}
