import Hummingbird
import JobQueue
import NIOCore
import Reports

/// What operators and load balancers call, without a FIT: health and Prometheus metrics (nginx does
/// not expose `/metrics`).
struct ServiceRoutes {
    let services: APIServices

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("/healthz") { _, _ in try await health() }
        router.get("/metrics") { _, _ in
            if let stats = try? await services.queue.stats() { services.metrics.queue(stats) }
            if let lateness = try? await services.storage.scheduleLateness() {
                services.metrics.lateness(lateness)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: services.metrics.exposition())))
        }
    }

    private func health() async throws -> Response {
        guard await services.storage.isReadable() else {
            throw APIError(.serviceUnavailable, .databaseUnavailable, "the database cannot be read")
        }
        return try APIResponseEncoder.response(.ok, HealthResponse(status: "ok"))
    }
}

/// Forge's lifecycle events and scheduled triggers: the FIT middleware has already recorded the
/// installation and any system token they carry; the answer is `{}`.
struct ForgeEventRoutes {
    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        forge.post("/forge/lifecycle") { _, _ in EmptyResponse() }
        forge.post("/forge/trigger") { _, _ in EmptyResponse() }
    }
}
