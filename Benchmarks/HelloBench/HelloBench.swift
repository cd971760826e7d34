import Hummingbird

/// Hummingbird's plain hello-world route: the baseline the API benchmark compares with.
@main
struct HelloBench {
    static func main() async throws {
        let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8090
        let router = Router()
        router.get("/") { _, _ in "Hello, world!" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
