import Foundation
import Testing

@testable import Atlassian
@testable import Microsoft
@testable import Transport
@testable import Upstream

/// One classification of upstream answers, the same classes for every client.
@Suite("Upstream classification")
struct UpstreamClassificationTests {
    static func answer(_ status: Int, retryAfter: String? = nil) -> OutboundResponse {
        OutboundResponse(status: status, headers: retryAfter.map { ["Retry-After": $0] } ?? [:], body: Data())
    }

    @Test func everyClientSortsStatusesIntoTheSameClasses() {
        for service in [UpstreamService.graph, .onenote, .jira, .jiraForOwner, .offlineTokens] {
            let microsoft = service.unauthorizedMeansReconnect
            #expect(
                UpstreamError.classify(Self.answer(401), service: service).kind
                    == (microsoft ? .reconnectRequired : .rejected))
            #expect(UpstreamError.classify(Self.answer(403), service: service).kind == .rejected)
            #expect(UpstreamError.classify(Self.answer(403), service: service).code == service.forbiddenCode)
            for status in [404, 409, 422] {
                let error = UpstreamError.classify(Self.answer(status), service: service)
                #expect(error.kind == .rejected && error.code == service.rejectedCode && error.status == status)
            }
            for status in [429, 500, 502, 503] {
                let error = UpstreamError.classify(Self.answer(status, retryAfter: "7"), service: service)
                #expect(error.kind == .transient && error.code == service.unavailableCode)
                #expect(error.retryAfter == .seconds(7), "Retry-After is read for \(service.name) \(status)")
            }
        }
        #expect(UpstreamService.graph.unauthorizedMeansReconnect && UpstreamService.onenote.unauthorizedMeansReconnect)
        #expect(
            !UpstreamService.jira.unauthorizedMeansReconnect
                && !UpstreamService.offlineTokens.unauthorizedMeansReconnect)
    }

    @Test func theClientsUseIt() {
        // A OneNote 503 with Retry-After and a Graph 404 go through the same table.
        let onenote = OneNoteWriter.failure(Self.answer(503, retryAfter: "3"))
        #expect(
            onenote.kind == .transient && onenote.code == "onenote_unavailable" && onenote.retryAfter == .seconds(3))
        #expect(OneNoteWriter.failure(Self.answer(413)).code == "onenote_too_large")
        let graph = GraphClient.classify(Self.answer(404))
        #expect(graph.kind == .rejected && graph.code == "graph_rejected")
    }
}
