import Foundation
import Hummingbird
import Reports
import ReportsSupport

/// Runs of a report: Run now (joined to a waiting run, or a follow-up of a running one), the history,
/// and one run by id.
struct RunRoutes {
    let services: APIServices

    func addRoutes(to forge: RouterGroup<APIRequestContext>) {
        forge.post("/v1/reports/{id}/runs") { _, context in try await requestRun(context) }
        forge.get("/v1/reports/{id}/runs") { request, context in
            let limitText = request.uri.queryParameters.get("limit") ?? "20"
            guard let limit = Int(limitText), (1...100).contains(limit) else {
                throw APIError.badRequest(.invalidParameter, "limit must be a number from 1 to 100")
            }
            guard
                let runs = try await services.runs.runs(
                    try context.owner(), reportId: try APIRoutes.reportId(context), limit: limit)
            else {
                throw APIError.notFound
            }
            return RunListResponse(runs: runs.map(RunResponse.init))
        }
        forge.get("/v1/runs/{id}") { _, context in
            guard let id = context.parameters.get("id"), id.unicodeScalars.count <= 64,
                let run = try await services.runs.run(try context.owner(), id: id)
            else {
                throw APIError.notFound
            }
            return RunResponse(run)
        }
    }

    private func requestRun(_ context: APIRequestContext) async throws -> EditedResponse<RunRequestResponse> {
        try LicenseCheck.requireRuns(services, context)
        let result = try await services.runs.requestRun(
            try context.owner(), reportId: try APIRoutes.reportId(context), userToken: context.forwardedUserToken)
        let answer: RunRequestResponse
        switch result {
        case .reportNotFound:
            throw APIError.notFound
        case .rateLimited(let wait):
            let seconds = wait.wholeSecondsRoundedUp
            throw APIError(
                .tooManyRequests, .runNowRateLimited,
                "you started \(services.runs.runNowPerMinute) runs in the last minute; try again in \(seconds) s",
                retryAfterSeconds: seconds)
        case .queued(let run):
            services.metrics.enqueued(trigger: "manual")
            answer = RunRequestResponse(run: RunResponse(run), created: true, disposition: .queued, runningRunId: nil)
        case .followUp(let run, let running):
            services.metrics.enqueued(trigger: "manual")
            answer = RunRequestResponse(
                run: RunResponse(run), created: true, disposition: .followUp, runningRunId: running.id)
        case .joined(let run):
            answer = RunRequestResponse(run: RunResponse(run), created: false, disposition: .joined, runningRunId: nil)
        }
        return EditedResponse(status: .accepted, response: answer)
    }
}
