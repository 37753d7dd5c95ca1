import CCurl
import Foundation

/// What a finished libcurl transfer produced, handed to the waiting caller.
struct CurlOutcome: Sendable {
    /// libcurl's result code (`CURLE_OK` when a full response arrived).
    var code: CURLcode
    /// The HTTP status (0 when no status line arrived).
    var status: Int
    /// Response headers of the final response, names lower-cased.
    var headers: [String: String]
    /// The body, at most the transfer's cap.
    var body: Data
    /// True when the body was longer than the cap and the transfer was cut there.
    var bodyCut: Bool
}

/// One request's state while libcurl runs it: the easy handle, the header list, the buffers the
/// callbacks fill, and the completion to call once. Touched only on the engine's thread.
final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var headers: [String: String] = [:]
    private var body = Data()
    private var bodyCut = false
    let bodyCap: Int
    /// When the engine ends the transfer itself if libcurl has not (monotonic nanoseconds).
    let deadlineNanos: UInt64
    let completion: @Sendable (CurlOutcome) -> Void

    /// Creates the easy handle for `request`; nil when libcurl cannot allocate one.
    ///
    /// Safety contract: no redirect is ever followed (a SAS never travels to a host it was not
    /// given for), no proxy is used, no signal is raised (`CURLOPT_NOSIGNAL`), and the whole
    /// transfer (connect included) is bounded by `timeoutMillis`.
    init?(
        _ request: HTTPRequest, timeoutMillis: Int, bodyCap: Int, deadlineNanos: UInt64,
        completion: @escaping @Sendable (CurlOutcome) -> Void
    ) {
        guard let easy = snaporch_curl_easy_init() else { return nil }
        self.easy = easy
        self.bodyCap = bodyCap
        self.deadlineNanos = deadlineNanos
        self.completion = completion
        let ms = max(timeoutMillis, 1)
        _ = snaporch_curl_set_string(easy, CURLOPT_URL, request.url.absoluteString)
        _ = snaporch_curl_set_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = snaporch_curl_set_long(easy, CURLOPT_TIMEOUT_MS, ms)
        _ = snaporch_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, ms)
        _ = snaporch_curl_set_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = snaporch_curl_set_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = snaporch_curl_set_string(easy, CURLOPT_NOPROXY, "*")
        if request.method == "HEAD" {
            _ = snaporch_curl_set_long(easy, CURLOPT_NOBODY, 1)
        } else {
            _ = snaporch_curl_set_string(easy, CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method == "PUT" || request.method == "POST" {
            // Sent with a Content-Length, never chunked; libcurl keeps its own copy of the bytes.
            _ = snaporch_curl_set_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            if request.body.isEmpty {
                _ = snaporch_curl_set_string(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                request.body.withUnsafeBytes { raw in
                    _ = snaporch_curl_set_pointer(
                        easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
                }
            }
        }
        // `Expect: 100-continue` would stall a PUT for a second; libcurl computes Content-Length itself.
        var lines = ["Expect:"]
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key })
        where name.lowercased() != "content-length" {
            lines.append("\(name): \(value)")
        }
        for line in lines { headerList = snaporch_curl_slist_append(headerList, line) }
        _ = snaporch_curl_set_list(easy, CURLOPT_HTTPHEADER, headerList)
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = snaporch_curl_set_pointer(easy, CURLOPT_PRIVATE, context)
        _ = snaporch_curl_set_pointer(easy, CURLOPT_WRITEDATA, context)
        _ = snaporch_curl_set_pointer(easy, CURLOPT_HEADERDATA, context)
        _ = snaporch_curl_set_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = snaporch_curl_set_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader)
    }

    deinit {
        snaporch_curl_easy_cleanup(easy)
        snaporch_curl_slist_free_all(headerList)
    }

    /// Appends body bytes up to the cap; past it, keeps nothing more and stops the transfer.
    fileprivate func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
        let room = bodyCap - body.count
        if bytes.count > room {
            if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
            bodyCut = true
            return 0  // anything but bytes.count aborts the transfer (CURLE_WRITE_ERROR)
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// Records one header line; a new status line (a 100 Continue, an interim answer) starts over.
    fileprivate func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, headers.count < 200 else { return }
        headers[name] = value.count > 8192 ? String(value.prefix(8192)) : value
    }

    /// The outcome of the finished transfer with libcurl's `code`.
    func outcome(_ code: CURLcode) -> CurlOutcome {
        var status = 0
        _ = snaporch_curl_get_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return CurlOutcome(code: code, status: status, headers: headers, body: body, bodyCut: bodyCut)
    }
}

/// CURLOPT_WRITEFUNCTION: the body bytes of the response.
private func curlWriteBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let buffer = UnsafeRawBufferPointer(start: data.map { UnsafeRawPointer($0) }, count: size * count)
    return transfer.receive(buffer)
}

/// CURLOPT_HEADERFUNCTION: one header line at a time.
private func curlWriteHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    transfer.receiveHeader(UnsafeRawBufferPointer(start: data.map { UnsafeRawPointer($0) }, count: size * count))
    return size * count
}
