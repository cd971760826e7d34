package import Foundation
import Hummingbird
package import HummingbirdTesting

/// A test response's body read as the API's JSON, its error code, or text.
extension TestResponse {
    package var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
    package var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    package var text: String { String(buffer: body) }
}
