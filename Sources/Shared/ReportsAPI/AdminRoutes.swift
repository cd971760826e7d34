import Atlassian
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Reports
import Security
import Upstream

/// The admin page's routes (`/v1/admin/…`, docs/openapi.yaml), behind `SiteAdminMiddleware`: the site at a
/// glance, the switch that pauses every schedule of the site, and removing one user's Microsoft
/// connection. All of them act on the caller's own site only (the FIT's installation).
struct AdminRoutes {
    let services: APIServices

    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        let admin = forge.group("/v1/admin").add(middleware: SiteAdminMiddleware(services: services))
        admin.get("/site") { _, context in try await site(context) }
        admin.put("/site/schedules") { request, context in try await setSchedules(request, context) }
        admin.delete("/users/{accountId}/microsoft-connection") { _, context in
            let owner = ReportOwner(
                installationId: try context.owner().installationId, accountId: try accountId(context))
            guard try await services.connections.delete(owner) else { throw APIError.notFound }
            context.logger.notice(
                "site admin removed a user's Microsoft connection", metadata: ["user": "\(owner.accountId)"])
            return Response(status: .noContent)
        }
    }

    private func site(_ context: APIRequestContext) async throws -> SiteAdminResponse {
        let (identity, token) = try context.forwardedUser()
        let overview = try await SiteOverview.read(
            services.administration, installationId: identity.installationId, now: services.now())
        // Names help; the page stands without them (a user Jira no longer knows shows their account id).
        var names: [String: String] = [:]
        do {
            names = try await services.jira.displayNames(
                apiBaseUrl: identity.apiBaseUrl, userToken: token, accountIds: overview.users.map(\.accountId))
        } catch let error as UpstreamError {
            context.logger.notice("user names not read from Jira", metadata: ["code": "\(error.code)"])
        }
        return SiteAdminResponse(
            overview, names: names, limits: services.limits, license: services.license,
            licenseActive: identity.licenseActive)
    }

    private func setSchedules(_ request: Request, _ context: APIRequestContext) async throws -> SchedulesSwitchResponse
    {
        struct Body: Decodable { let paused: Bool }
        let body = try await JSONBody.decode(Body.self, from: request, context: context, allowedFields: ["paused"])
        let installationId = try context.owner().installationId
        let pausedAt = try await services.administration.setSchedulesPaused(
            body.paused, installationId: installationId, at: services.now())
        context.logger.notice(
            body.paused ? "site admin paused the site's schedules" : "site admin resumed the site's schedules")
        return SchedulesSwitchResponse(pausedAt: pausedAt)
    }

    /// An account id from the path, as Jira shapes them (at most 128 characters), else 404. The app
    /// sends it percent-encoded (`557058:…` has a colon); it is read decoded either way.
    private func accountId(_ context: APIRequestContext) throws -> String {
        guard let raw = context.parameters.get("accountId"), let id = raw.removingPercentEncoding,
            (1...128).contains(id.count)
        else {
            throw APIError.notFound
        }
        return id
    }
}
