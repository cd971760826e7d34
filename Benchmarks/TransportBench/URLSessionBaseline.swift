import Foundation
import Synchronization
import Transport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The outbound transport before the second security review (commit 4600991), kept as the benchmark's
/// baseline: Foundation's URLSession (libcurl underneath on Linux), redirects refused, the size cap
/// counted in the delegate as the body arrives. Not used by the service (see CurlTransport for why).
struct URLSessionBaseline: HTTPTransport {
    let policy: OutboundURLPolicy
    /// Responses larger than this are refused (a JWKS is a few KB; a page of Jira issues a few MB).
    let maxResponseBytes: Int
    private let session: URLSession
    private let delegate: StreamingDelegate
    /// The delegate queue's dispatch queue, held here: `OperationQueue.underlyingQueue` does not retain it.
    private let delegateDispatchQueue = DispatchQueue(label: "reports.transport-delegate")

    init(policy: OutboundURLPolicy, maxResponseBytes: Int = 16 << 20) {
        self.policy = policy
        self.maxResponseBytes = maxResponseBytes
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        delegate = StreamingDelegate()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.underlyingQueue = delegateDispatchQueue
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
    }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        guard policy.permits(request.url) else { throw HTTPTransportError.insecureURL }
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval = Double(request.timeout.components.seconds)
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        urlRequest.httpBody = request.body
        let host = request.url.host ?? "?"
        let (http, data): (HTTPURLResponse, Data)
        do {
            (http, data) = try await delegate.perform(session.dataTask(with: urlRequest), limit: maxResponseBytes)
        } catch let error as HTTPTransportError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as URLError {
            if error.code == .cancelled, Task.isCancelled { throw CancellationError() }
            throw HTTPTransportError.unreachable(host, reason: Self.reason(error))
        } catch {
            throw HTTPTransportError.unreachable(host)
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return OutboundResponse(status: http.statusCode, headers: headers, body: data)
    }

    /// Why a request failed, for operators: a fixed phrase for the classes Foundation names, else
    /// libcurl's own one-line error text (about the connection — TLS alerts, certificate problems —
    /// never from the upstream's response, which did not arrive), capped.
    static func reason(_ error: URLError) -> String {
        switch error.code {
        case .secureConnectionFailed: return "TLS handshake failed"
        case .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateHasUnknownRoot,
            .serverCertificateNotYetValid:
            return "the server's certificate is not trusted"
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host name not found"
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        default:
            let text = error.localizedDescription.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return text.isEmpty ? "network error \(error.code.rawValue)" : String(text.prefix(200))
        }
    }
}

/// The session's delegate: refuses every redirect and collects each task's body under its cap.
/// Foundation calls it on the session's serial delegate queue; the per-task state sits behind a mutex
/// because `perform` registers tasks from any thread.
private final class StreamingDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct Pending {
        let continuation: CheckedContinuation<(HTTPURLResponse, Data), any Error>
        let limit: Int
        var response: HTTPURLResponse?
        var body = Data()
        var tooLarge = false
    }

    private let pending = Mutex<[Int: Pending]>([:])

    func perform(_ task: URLSessionDataTask, limit: Int) async throws -> (HTTPURLResponse, Data) {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                pending.withLock { $0[task.taskIdentifier] = Pending(continuation: continuation, limit: limit) }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let allow = pending.withLock { tasks -> Bool in
            guard var entry = tasks[dataTask.taskIdentifier] else { return false }
            entry.response = response as? HTTPURLResponse
            // A declared length over the cap is refused before a byte of the body is read.
            if response.expectedContentLength > Int64(entry.limit) { entry.tooLarge = true }
            tasks[dataTask.taskIdentifier] = entry
            return !entry.tooLarge
        }
        completionHandler(allow ? .allow : .cancel)
        if !allow { Self.cancelSoon(dataTask) }
    }

    /// Cancels off this queue: `cancel()` waits for the session's work queue, which is busy reading
    /// the very body being refused, and while this queue waits the chunks read meanwhile pile up
    /// undropped (measured: memory grew with the whole 300 MB answer). Dropping them as they come while
    /// the cancel lands keeps memory near the cap.
    private static func cancelSoon(_ task: URLSessionTask) {
        DispatchQueue.global().async { task.cancel() }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let over = pending.withLock { tasks -> Bool in
            guard var entry = tasks[dataTask.taskIdentifier], !entry.tooLarge else { return false }
            if entry.body.count + data.count > entry.limit {
                entry.tooLarge = true
                entry.body = Data()
            } else {
                entry.body.append(data)
            }
            tasks[dataTask.taskIdentifier] = entry
            return entry.tooLarge
        }
        if over { Self.cancelSoon(dataTask) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let entry = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if entry.tooLarge {
            entry.continuation.resume(throwing: HTTPTransportError.responseTooLarge(entry.limit))
        } else if let error {
            entry.continuation.resume(throwing: error)
        } else if let response = entry.response {
            entry.continuation.resume(returning: (response, entry.body))
        } else {
            entry.continuation.resume(throwing: URLError(.badServerResponse))
        }
    }
}
