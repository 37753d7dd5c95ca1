import CCurl
import Foundation

/// `HTTPClient` over libcurl (one multi handle on one dedicated thread, see `CurlEngine`).
///
/// Safety contract: `send` returns within its `timeout` (plus a few milliseconds) whatever the
/// peer or libcurl does. libcurl bounds the whole transfer with `CURLOPT_TIMEOUT_MS`; the engine
/// ends any transfer still there at that deadline; and a backstop resumes the caller
/// `backstopGrace` later even if the engine thread were stuck. No Swift task is cancelled, no lock
/// is held across a call into libcurl, redirects are never followed (a 3xx comes back as is), and a
/// response body is kept up to `bodyCap` bytes only: the transfer stops there and says so.
package struct CurlHTTPClient: HTTPClient {
    /// The largest response body kept (Azure error bodies are a few hundred bytes).
    package let bodyCap: Int
    /// How long after the deadline the backstop resumes a caller the engine did not answer.
    static let backstopGrace = Duration.milliseconds(150)

    /// Creates a client keeping at most `bodyCap` bytes of each response body (1 MiB by default).
    /// libcurl is loaded here (once per process), before any freeze window.
    package init(bodyCap: Int = 1 << 20) {
        self.bodyCap = max(bodyCap, 0)
        _ = CurlEngine.libraryLoaded
    }

    package func send(_ request: HTTPRequest, timeout: Duration) async -> HTTPResult {
        let millis = max(
            1, Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        guard CurlEngine.libraryLoaded else {
            return .failed("libcurl (libcurl.so.4) could not be loaded: install the libcurl4 package")
        }
        guard let engine = CurlEngine.shared else {
            return .failed("the HTTP engine's thread could not start (the process or user thread limit?)")
        }
        let once = ResumeOnce<HTTPResult>()
        let cap = bodyCap
        let backstop = Task {
            try? await Task.sleep(for: .milliseconds(millis) + Self.backstopGrace)
            once.resume(.timedOut)
        }
        let result = await withCheckedContinuation { continuation in
            once.set(continuation)
            engine.start(request, timeoutMillis: millis, bodyCap: cap) { outcome in
                once.resume(Self.result(outcome, cap: cap))
            }
        }
        // The backstop is only sleeping: ending it early frees its timer (no lock, nothing in flight).
        backstop.cancel()
        return result
    }

    /// Maps a finished transfer to the seam's result.
    static func result(_ outcome: CurlOutcome, cap: Int) -> HTTPResult {
        var headers = outcome.headers
        headers[HTTPResult.bodyCutHeader] = nil
        if outcome.bodyCut && outcome.status > 0 {
            headers[HTTPResult.bodyCutHeader] = String(cap)
            return .response(status: outcome.status, headers: headers, body: outcome.body)
        }
        switch outcome.code {
        case CURLE_OK:
            return .response(status: outcome.status, headers: headers, body: outcome.body)
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut
        case CURLE_COULDNT_CONNECT:
            return .failed("connection refused")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .failed("host not found")
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE:
            return .failed("connection reset")
        case CURLE_GOT_NOTHING:
            return .failed("the server closed the connection without answering")
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return .failed("TLS failure")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .failed("not a usable http(s) URL")
        default:
            // libcurl's fixed text for the code: it never carries the URL.
            return .failed("network error (\(String(cString: snaporch_curl_easy_strerror(outcome.code))))")
        }
    }
}
