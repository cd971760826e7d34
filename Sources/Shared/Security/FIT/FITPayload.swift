import JWTKit

/// The claims of a Forge Invocation Token (docs/atlassian-apis.md §1.3). Checked by `FITVerifier`, not here, so
/// each failure gets its own code.
struct FITPayload: JWTPayload {
    struct App: Codable, Sendable {
        struct Environment: Codable, Sendable {
            let type: String
            let id: String?
        }
        struct Module: Codable, Sendable {
            let type: String
            let key: String
        }
        /// The site's licence of the app: present only for paid apps in production
        /// (docs/atlassian-apis.md §1.3, §10). A claim of another shape counts as absent rather than
        /// refusing the token: the licence is read only when a site must have one.
        struct License: Codable, Sendable {
            let isActive: Bool?
            init(from decoder: any Decoder) throws {
                let container = try? decoder.container(keyedBy: CodingKeys.self)
                isActive = (try? container?.decodeIfPresent(Bool.self, forKey: .isActive)) ?? nil
            }
        }
        let id: String
        let installationId: String
        let apiBaseUrl: String
        let environment: Environment
        let module: Module
        let license: License?
    }

    struct Context: Codable, Sendable {
        let cloudId: String?
        let siteUrl: String?
        /// The module the call comes from (a UI module's key for a call from the app's frontend).
        let moduleKey: String?
    }

    /// `aud` may be one string or an array of them.
    struct Audience: Codable, Sendable {
        let values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let single = try? container.decode(String.self) {
                values = [single]
            } else {
                values = try container.decode([String].self)
            }
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(values)
        }
    }

    let iss: String
    let aud: Audience
    let exp: Double
    let nbf: Double?
    let iat: Double?
    let jti: String?
    let app: App
    let context: Context?
    let principal: String?

    /// Claims are checked by `FITVerifier` with a leeway and distinct error codes.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
