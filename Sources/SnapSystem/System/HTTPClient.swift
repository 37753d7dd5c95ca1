import Foundation

/// One HTTP request, built before it is needed (before the freeze window).
package struct HTTPRequest: Sendable {
    package var method: String
    package var url: URL
    package var headers: [String: String]
    package var body: Data

    package init(method: String, url: URL, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back: a response, or why none did.
package enum HTTPResult: Sendable {
    /// A response; header names are lower-case. A body longer than the client's cap is cut there,
    /// and `headers[HTTPResult.bodyCutHeader]` then holds the cap in bytes.
    case response(status: Int, headers: [String: String], body: Data)
    /// The wall-clock budget ran out (the transfer was ended, or abandoned to end on its own).
    case timedOut
    /// No response: refused, reset, DNS, TLS…; the text names the cause.
    case failed(String)

    /// The pseudo-header a client adds to a response whose body it cut at its cap (never sent by a server:
    /// a server's header of that name is dropped).
    package static let bodyCutHeader = "x-snaporch-body-cut"

    /// True when the response body was cut at the client's cap.
    package var bodyWasCut: Bool {
        if case .response(_, let headers, _) = self { return headers[Self.bodyCutHeader] != nil }
        return false
    }

    /// The HTTP status, if a response arrived.
    package var status: Int? {
        if case .response(let status, _, _) = self { return status }
        return nil
    }
}

/// Sends HTTP requests; the seam between the snapshot/blob logic and the network.
package protocol HTTPClient: Sendable {
    /// Sends `request` and returns within `timeout` whatever happens (never throws).
    func send(_ request: HTTPRequest, timeout: Duration) async -> HTTPResult
}
