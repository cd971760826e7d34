public import Upstream

// How Microsoft's failures are reported (UpstreamError.classify gives every upstream the same classes).
extension UpstreamService {
    public static let graph = UpstreamService(
        name: "Microsoft Graph", unauthorizedMeansReconnect: true, forbiddenCode: "graph_rejected",
        forbiddenMessage: "Microsoft Graph refused the request", unavailableCode: "graph_unavailable",
        rejectedCode: "graph_rejected")

    public static let onenote = UpstreamService(
        name: "OneNote", unauthorizedMeansReconnect: true, forbiddenCode: "onenote_forbidden",
        forbiddenMessage: "OneNote refused access to the section", unavailableCode: "onenote_unavailable",
        rejectedCode: "onenote_rejected")
}
