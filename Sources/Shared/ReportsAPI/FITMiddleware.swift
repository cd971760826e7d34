import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Reports
import ReportsSupport
import Security

/// Verifies the Forge Invocation Token of every request behind it (hummingbird-auth's shape: an
/// identity or 401) and records the installation. The system token in `x-forge-oauth-system` is taken
/// only from a FIT without a principal, which Forge signs for its own calls (lifecycle events and
/// scheduled triggers, docs/atlassian-apis.md §1.3, §2): on a user's call the header is ignored, so a
/// user cannot plant a token of their own making. The latest one arriving wins.
struct FITMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    let verifier: FITVerifier
    let installations: any InstallationRecords
    let storage: any StorageReadings
    let metrics: APIMetrics
    let storageLog: ThrottledLog

    static let systemTokenHeader = HTTPField.Name("x-forge-oauth-system")!
    static let userTokenHeader = HTTPField.Name("x-forge-oauth-user")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let identity: FITIdentity
        do {
            identity = try await verifier.verify(authorization: request.headers[.authorization].map(Secret.init))
        } catch {
            metrics.fitFailure(code: error.code)
            context.logger.notice("FIT refused", metadata: ["code": "\(error.code)"])
            throw APIError.unauthorized(error.message)
        }
        var context = context
        context.identity = identity
        context.logger[metadataKey: "installation"] = "\(identity.installationId)"
        if let account = identity.principalAccountId { context.logger[metadataKey: "account"] = "\(account)" }
        let systemToken =
            identity.principalAccountId == nil ? request.headers[Self.systemTokenHeader].map(Secret.init) : nil
        context.forwardedUserToken = request.headers[Self.userTokenHeader].map(Secret.init)
        do {
            try await installations.record(identity, systemToken: systemToken)
        } catch let error where storage.unavailableReason(error) != nil {
            // Incidental to the request (a last-seen time, a token Forge sends again with its next
            // call): a read goes on; a write fails on its own write with 503.
            let reason = storage.unavailableReason(error) ?? "unavailable"
            metrics.storageUnavailable(reason: reason)
            if let suppressed = storageLog.admit(reason) {
                context.logger.error(
                    "storage unavailable; installation not recorded",
                    metadata: ["reason": "\(reason)", "suppressed_since_last": "\(suppressed)"])
            }
        }
        return try await next(request, context)
    }
}
