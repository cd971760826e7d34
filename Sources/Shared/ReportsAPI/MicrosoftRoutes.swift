import Foundation
import Hummingbird
import Microsoft
import Reports
import Security
import Upstream

/// The caller and their Microsoft connection: `/v1/me`, disconnecting, and the OneNote sections a
/// report can be written to. (Connecting is ConnectFlowRoutes.)
struct MicrosoftRoutes {
    let services: APIServices

    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        forge.get("/v1/me") { _, context in try await me(context) }
        forge.delete("/v1/microsoft/connection") { _, context in
            _ = try await services.connections.delete(try context.owner())
            return Response(status: .noContent)
        }
        forge.get("/v1/onenote/sections") { _, context in try await sections(context) }
    }

    private func me(_ context: APIRequestContext) async throws -> MeResponse {
        let owner = try context.owner()
        async let paused = services.administration.schedulesPausedAt(installationId: owner.installationId)
        let microsoft =
            try await services.connections.connection(owner).map {
                MeResponse.Microsoft(
                    status: $0.status.rawValue, displayName: $0.displayName,
                    connectedAt: $0.connectedAt.formatted(.iso8601))
            } ?? MeResponse.Microsoft(status: "not_connected", displayName: nil, connectedAt: nil)
        return MeResponse(
            accountId: owner.accountId, installationId: owner.installationId, microsoft: microsoft,
            schedulesPaused: try await paused != nil)
    }

    private func sections(_ context: APIRequestContext) async throws -> SectionListResponse {
        let owner = try context.owner()
        // The same words as /v1/me: not connected at all, or connected but to be renewed.
        switch try await services.connections.connection(owner)?.status {
        case nil: throw APIError(.conflict, .microsoftNotConnected, "connect a Microsoft account first")
        case .reconnectRequired:
            throw APIError(.conflict, .reconnectRequired, "connect your Microsoft account again in the app")
        case .active: break
        }
        func list(_ token: Secret) async throws -> [GraphClient.Section] {
            let me = try await services.graph.me(accessToken: token)
            return try await services.graph.sections(accessToken: token, budget: (services.onenoteBudget, me.id))
        }
        do {
            // The token comes from the broker the workers use: refreshed once for everyone, shared while valid.
            let token = try await services.tokens.accessToken(owner, lease: nil, logger: context.logger)
            let sections: [GraphClient.Section]
            do {
                sections = try await list(token)
            } catch let error as UpstreamError where error.kind == .reconnectRequired {
                // One 401 is not a lost connection: a fresh token, once.
                sections = try await list(
                    try await services.tokens.accessToken(owner, rejected: token, lease: nil, logger: context.logger))
            }
            return SectionListResponse(sections: sections.map(SectionListResponse.Section.init))
        } catch let error as UpstreamError {
            if error.kind == .reconnectRequired {
                try? await services.connections.markReconnectRequired(owner, lease: nil)
            }
            throw APIRoutes.upstream(error)
        }
    }
}
