import Foundation
import HTTPTypes
package import Hummingbird
import Logging
import Reports
import ReportsSupport
import Upstream

/// The API's router: middleware, then the routes grouped per resource (one file each). Forge calls
/// (`/forge/…`, `/v1/…`) pass the FIT middleware; health, metrics and the browser's steps of the
/// connect flow do not (docs/openapi.yaml says which is which).
package enum APIRoutes {
    package static func router(_ services: APIServices) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        // The request's span is outermost, so every log line of the request carries its trace id; the
        // request log next, so it sees every response, those made from thrown errors included (a 401
        // or 404 probe gets its id, log line and metric like any other).
        router.add(middleware: RequestTracingMiddleware())
        router.add(middleware: RequestLogMiddleware(metrics: services.metrics))
        router.add(
            middleware: ErrorMiddleware(
                metrics: services.metrics, storage: services.storage, storageLog: services.storageLog))
        ServiceRoutes(services: services).addRoutes(to: router)

        let forge = router.group().add(
            middleware: FITMiddleware(
                verifier: services.verifier, installations: services.installations, storage: services.storage,
                metrics: services.metrics,
                storageLog: services.storageLog))
        ForgeEventRoutes().addRoutes(to: forge)
        MicrosoftRoutes(services: services).addRoutes(to: forge)
        ConnectFlowRoutes.add(to: router, forge: forge, services: services)
        JiraRoutes(services: services).addRoutes(to: forge)
        ReportRoutes(services: services).addRoutes(to: forge)
        RunRoutes(services: services).addRoutes(to: forge)
        AdminRoutes(services: services).addRoutes(to: forge)
        return router
    }

    /// A report id from the path: a UUID, else 404 (not 400: an id is an address, not input).
    static func reportId(_ context: APIRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.count == 36, UUID(uuidString: id) != nil else {
            throw APIError.notFound
        }
        return id.lowercased()
    }

    /// The upstream classification (UpstreamError.Kind) as the API answers it.
    static func upstream(_ error: UpstreamError) -> APIError {
        switch error.kind {
        case .reconnectRequired: APIError(.conflict, error.code, error.message)
        // The user's budget at the destination (shared with the workers) is spent for now: ours, not an upstream fault.
        case .budgetSpent:
            APIError(
                .serviceUnavailable, error.code, error.message,
                retryAfterSeconds: error.retryAfter.map(\.wholeSecondsRoundedUp))
        case .appMisconfigured, .transient, .notYet: APIError(.badGateway, error.code, error.message)
        case .rejected: APIError(.badGateway, error.code, error.message)
        }
    }
}
