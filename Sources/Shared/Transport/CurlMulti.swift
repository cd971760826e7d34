import CCurl
import Foundation
import Synchronization

/// One libcurl multi handle for the process, driven by one thread of its own (docs/upstream-notes.md,
/// "The transport").
///
/// Callers hand it transfers and cancellations through a small inbox and wake it with
/// `curl_multi_wakeup`; the thread adds and removes easy handles, runs `curl_multi_perform` (where the
/// transfers' callbacks run), resumes each finished transfer's caller and sleeps in `curl_multi_poll`
/// until a socket is ready, a timer is due or the inbox has work. Connections (HTTP/1.1 keep-alive and
/// HTTP/2 multiplexing) are pooled across transfers by the multi handle. Like SwiftNIO's singleton
/// event loops, the thread lives as long as the process; it holds no state of its own between
/// transfers, so there is nothing to drain at shutdown.
final class CurlMulti: @unchecked Sendable {
    static let shared = CurlMulti()

    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex<[Command]>([])
    /// The transfers libcurl is running, by easy handle: the multi's thread only.
    private var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    private init() {
        ccurl_global_init()
        guard let multi = curl_multi_init() else { fatalError("libcurl could not create a multi handle") }
        self.multi = multi
        let thread = Thread { [self] in loop() }
        thread.name = "reports.curl"
        thread.start()
    }

    /// Runs `transfer` to its end. A cancelled task stops its transfer and gets `CancellationError`.
    func perform(_ transfer: CurlTransfer) async throws -> OutboundResponse {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                send(.add(transfer))
            }
        } onCancel: {
            send(.cancel(transfer))
        }
    }

    private func send(_ command: Command) {
        inbox.withLock { $0.append(command) }
        curl_multi_wakeup(multi)
    }

    private func loop() -> Never {
        var active: Int32 = 0
        var left: Int32 = 0
        while true {
            for command in inbox.withLock({ commands in
                defer { commands.removeAll() }
                return commands
            }) {
                handle(command)
            }
            curl_multi_perform(multi, &active)
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let transfer = running.removeValue(forKey: easy)
                else { continue }
                let result = ccurl_message_result(message)
                curl_multi_remove_handle(multi, easy)
                transfer.finish(result)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func handle(_ command: Command) {
        switch command {
        case .add(let transfer):
            // A task cancelled before its transfer was added sends the cancel first.
            guard !transfer.cancelRequested else { return transfer.finish(throwing: CancellationError()) }
            guard curl_multi_add_handle(multi, transfer.easy) == CURLM_OK else {
                return transfer.finish(
                    throwing: HTTPTransportError.unreachable(transfer.host, reason: "libcurl refused the transfer"))
            }
            running[transfer.easy] = transfer
        case .cancel(let transfer):
            transfer.cancelRequested = true
            guard running.removeValue(forKey: transfer.easy) != nil else { return }
            curl_multi_remove_handle(multi, transfer.easy)
            transfer.finish(throwing: CancellationError())
        }
    }
}
