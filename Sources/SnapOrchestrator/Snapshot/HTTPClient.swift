import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP request, built before it is needed (before the freeze window).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [String: String]
    public var body: Data

    public init(method: String, url: URL, headers: [String: String] = [:], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back: a response, or why none did.
public enum HTTPResult: Sendable {
    case response(status: Int, headers: [String: String], body: Data)
    /// The wall-clock budget ran out (the call was cancelled).
    case timedOut
    /// No response: refused, reset, DNS, TLS…; the text names the cause.
    case failed(String)

    /// The HTTP status, if a response arrived.
    public var status: Int? {
        if case .response(let status, _, _) = self { return status }
        return nil
    }
}

/// Sends HTTP requests; the seam between the snapshot/blob logic and the network.
public protocol HTTPClient: Sendable {
    /// Sends `request` and returns within `timeout` whatever happens (never throws).
    func send(_ request: HTTPRequest, timeout: Duration) async -> HTTPResult
}

/// `HTTPClient` over an ephemeral `URLSession` with a bounded idle timeout and a hard
/// wall-clock deadline per call (URLSession alone only enforces an idle timeout).
public final class URLSessionHTTPClient: HTTPClient, @unchecked Sendable {
    let session: URLSession

    /// Creates a client allowing `connectionsPerHost` parallel connections (one per disk).
    public init(idleTimeout: TimeInterval = 30, connectionsPerHost: Int = 8) {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = idleTimeout
        config.httpMaximumConnectionsPerHost = max(connectionsPerHost, 1)
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.connectionProxyDictionary = [:]
        session = URLSession(configuration: config)
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: HTTPRequest, timeout: Duration) async -> HTTPResult {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        // Set through the property so that URLSession honours it (the initializer's value is ignored).
        urlRequest.timeoutInterval = max(
            0.05, Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        // A Data body: sent with Content-Length, never chunked.
        if request.method == "PUT" || request.method == "POST" { urlRequest.httpBody = request.body }
        let session = self.session
        let prepared = urlRequest
        // The deadline must hold even if URLSession never answers, not even to cancellation (seen
        // after a dropped connection): the caller is resumed by whichever comes first, and a stuck
        // request is left to die in the background instead of being awaited.
        let once = ResumeOnce<HTTPResult>()
        return await withCheckedContinuation { continuation in
            once.set(continuation)
            let work = Task {
                do {
                    let (data, response) = try await session.data(for: prepared)
                    guard let http = response as? HTTPURLResponse else {
                        once.resume(.failed("not an HTTP response"))
                        return
                    }
                    var headers: [String: String] = [:]
                    for (key, value) in http.allHeaderFields {
                        if let k = key as? String, let v = value as? String { headers[k.lowercased()] = v }
                    }
                    once.resume(.response(status: http.statusCode, headers: headers, body: data))
                } catch let error as URLError where error.code == .timedOut {
                    once.resume(.timedOut)
                } catch {
                    once.resume(.failed(Self.describe(error)))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                if once.resume(.timedOut) { work.cancel() }
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .cannotConnectToHost: return "connection refused"
            case .networkConnectionLost: return "connection reset"
            case .cannotFindHost: return "host not found"
            case .notConnectedToInternet: return "no network"
            case .secureConnectionFailed: return "TLS failure"
            default: return "network error (URLError \(urlError.code.rawValue))"
            }
        }
        return Redactor().redact("\(error)")
    }
}

/// Resumes a continuation exactly once, from whichever of several racing tasks gets there first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, Never>?
    private var pending: T?
    private var done = false

    func set(_ continuation: CheckedContinuation<T, Never>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(returning: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    /// Resumes with `value` if nobody did yet; returns whether this call did.
    @discardableResult
    func resume(_ value: T) -> Bool {
        lock.lock()
        guard !done else {
            lock.unlock()
            return false
        }
        done = true
        guard let continuation else {
            pending = value
            lock.unlock()
            return true
        }
        self.continuation = nil
        lock.unlock()
        continuation.resume(returning: value)
        return true
    }
}
