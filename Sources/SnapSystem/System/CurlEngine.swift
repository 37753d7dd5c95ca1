import CCurl
import Foundation
import Synchronization

/// Runs every HTTP transfer of the process on one libcurl multi handle, driven by one dedicated
/// (non-cooperative) thread: the parallel per-disk snapshot calls progress together, and no
/// Swift task ever waits inside libcurl.
///
/// Callers hand in a request and a completion; the completion is called exactly once on the engine
/// thread, when libcurl finishes the transfer or when the transfer's deadline passes (the engine
/// then removes it itself, whether or not libcurl's own timeout fired). Nothing is cancelled from
/// another thread, and no lock of ours is held while libcurl or a completion runs.
final class CurlEngine: Sendable {
    /// The process's engine, started on first use; nil when libcurl cannot be loaded or its thread
    /// cannot start.
    static let shared: CurlEngine? = libraryLoaded ? CurlEngine() : nil

    /// Loads libcurl (`dlopen`, once) and initialises it; false when `libcurl.so.4` is missing.
    ///
    /// libcurl is not linked at start (it brings ~30 libraries into every command, the freeze guard
    /// included): `CurlHTTPClient.init` loads it, before any window, in the commands that send.
    static let libraryLoaded: Bool = {
        // Before any other libcurl call of the process, and before the engine thread exists.
        snaporch_curl_load() == 1 && snaporch_curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    private struct Pending: @unchecked Sendable {
        var transfers: [CurlTransfer] = []
    }

    /// The multi handle; used by the engine thread only, except `curl_multi_wakeup` (thread-safe).
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let pending = Mutex(Pending())

    private init?() {
        multi = snaporch_curl_multi_init()!
        guard DetachedThread.start(name: "snaporch-http", stackBytes: 512 * 1024, { [self] in self.loop() }) else {
            return nil
        }
    }

    /// Starts `request`; `completion` runs once, on the engine thread, within `timeoutMillis`
    /// (plus one poll interval) whatever the peer does.
    func start(
        _ request: HTTPRequest, timeoutMillis: Int, bodyCap: Int,
        completion: @escaping @Sendable (CurlOutcome) -> Void
    ) {
        let deadline = Sys.monotonicNanos() + UInt64(max(timeoutMillis, 1)) * 1_000_000
        guard
            let transfer = CurlTransfer(
                request, timeoutMillis: timeoutMillis, bodyCap: bodyCap, deadlineNanos: deadline,
                completion: completion)
        else {
            completion(CurlOutcome(code: CURLE_OUT_OF_MEMORY, status: 0, headers: [:], body: Data(), bodyCut: false))
            return
        }
        pending.withLock { $0.transfers.append(transfer) }
        _ = snaporch_curl_multi_wakeup(multi)
    }

    /// The engine thread: adds new transfers, drives libcurl, completes finished and overdue ones.
    private func loop() -> Never {
        var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
        while true {
            let added = pending.withLock { state -> [CurlTransfer] in
                defer { state.transfers.removeAll() }
                return state.transfers
            }
            for transfer in added {
                if snaporch_curl_multi_add_handle(multi, transfer.easy) == CURLM_OK {
                    active[transfer.easy] = transfer
                } else {
                    transfer.completion(transfer.outcome(CURLE_FAILED_INIT))
                }
            }
            var running: Int32 = 0
            _ = snaporch_curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let message = snaporch_curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let transfer = active.removeValue(forKey: easy)
                else { continue }
                let code = snaporch_curl_message_result(message)
                _ = snaporch_curl_multi_remove_handle(multi, easy)
                transfer.completion(transfer.outcome(code))
            }
            // A transfer libcurl did not end by its deadline is ended here.
            let now = Sys.monotonicNanos()
            var nearest = now + 1_000_000_000
            for (easy, transfer) in active {
                if transfer.deadlineNanos <= now {
                    active[easy] = nil
                    _ = snaporch_curl_multi_remove_handle(multi, easy)
                    transfer.completion(transfer.outcome(CURLE_OPERATION_TIMEDOUT))
                } else {
                    nearest = min(nearest, transfer.deadlineNanos)
                }
            }
            let wait = Int32(min(1000, max(1, (nearest - now) / 1_000_000 + 1)))
            _ = snaporch_curl_multi_poll(multi, active.isEmpty ? 1000 : wait)
        }
    }
}
