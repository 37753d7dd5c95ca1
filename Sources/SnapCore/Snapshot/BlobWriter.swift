import Foundation
import SnapSystem

/// Writes a status or log document to a blob SAS URI: a block blob by `Put Blob`, or, when the
/// target already exists as a page blob, by clearing and rewriting its pages (512-byte aligned,
/// space padded, 4 MiB per call, keeping the last 10 MiB), as the original extension does.
///
/// Retries are bounded in count (3 attempts per call) and in time (`budget` for the whole write).
package struct BlobWriter: Sendable {
    let client: any HTTPClient
    let budget: TimeSpan
    static let pageSize = 512
    static let chunk = 4 << 20
    static let maxPageDocument = 10 << 20

    /// Creates a writer.
    package init(client: any HTTPClient, budget: TimeSpan = .seconds(30)) {
        self.client = client
        self.budget = budget
    }

    /// Writes `body`; returns nil on success, or an error naming the blob (without its SAS).
    ///
    /// Returns within `budget` (plus a short grace) whatever the HTTP layer does: a write still
    /// running then is abandoned, so that the report and the status file are never held up.
    package func write(_ body: Data, to uri: BlobURI, contentType: String = "application/json") async -> String? {
        let end = Sys.monotonicNanos() + UInt64(budget.milliseconds) * 1_000_000
        let writer = self
        return await awaitBounded(
            until: end + 500_000_000,
            fallback: { "upload to \(uri.display) did not finish within \(writer.budget); abandoned" },
            { await writer.write(body, to: uri, contentType: contentType, until: end) })
    }

    private func write(_ body: Data, to uri: BlobURI, contentType: String, until end: UInt64) async -> String? {
        let probe = HTTPRequest(method: "HEAD", url: uri.url, headers: headers())
        let properties = await send(probe, until: end, accept: [200, 404])
        if case .response(200, let h, _) = properties, h["x-ms-blob-type"] == "PageBlob" {
            let size = Int(h["content-length"] ?? "") ?? 0
            return await writePages(body, to: uri, currentSize: size, until: end)
        }
        var put = headers()
        put["x-ms-blob-type"] = "BlockBlob"
        put["Content-Type"] = contentType
        let request = HTTPRequest(method: "PUT", url: uri.url, headers: put, body: body)
        return describe(await send(request, until: end, accept: [201]), uri)
    }

    private func writePages(_ body: Data, to uri: BlobURI, currentSize: Int, until end: UInt64) async -> String? {
        var text = body.count > Self.maxPageDocument ? body.suffix(Self.maxPageDocument) : body
        let padded = (text.count + Self.pageSize - 1) / Self.pageSize * Self.pageSize
        text.append(Data(repeating: 0x20, count: padded - text.count))
        if currentSize > 0 {
            var clear = headers()
            clear["x-ms-page-write"] = "clear"
            clear["x-ms-range"] = "bytes=0-\(currentSize - 1)"
            let request = HTTPRequest(method: "PUT", url: uri.adding(query: "comp=page"), headers: clear)
            if let error = describe(await send(request, until: end, accept: [201]), uri) { return error }
        }
        if padded > currentSize {
            var resize = headers()
            resize["x-ms-blob-content-length"] = String(padded)
            let request = HTTPRequest(method: "PUT", url: uri.adding(query: "comp=properties"), headers: resize)
            if let error = describe(await send(request, until: end, accept: [200]), uri) { return error }
        }
        var offset = 0
        while offset < text.count {
            let piece = text[text.startIndex + offset..<text.startIndex + min(offset + Self.chunk, text.count)]
            var update = headers()
            update["x-ms-page-write"] = "update"
            update["x-ms-range"] = "bytes=\(offset)-\(offset + piece.count - 1)"
            let request = HTTPRequest(
                method: "PUT", url: uri.adding(query: "comp=page"), headers: update, body: Data(piece))
            if let error = describe(await send(request, until: end, accept: [201]), uri) { return error }
            offset += piece.count
        }
        return nil
    }

    private func headers() -> [String: String] {
        ["x-ms-version": BlobSnapshotProvider.apiVersion, "x-ms-date": BlobSnapshotProvider.rfc1123(Date())]
    }

    /// Up to 3 attempts with backoff, for transient failures only, never past `end`.
    private func send(_ request: HTTPRequest, until end: UInt64, accept: Set<Int>) async -> HTTPResult {
        var result: HTTPResult = .timedOut
        for attempt in 1...3 {
            let now = Sys.monotonicNanos()
            guard now < end else { break }
            result = await client.send(request, timeout: .nanoseconds(Int64(min(end - now, 10_000_000_000))))
            if let status = result.status, accept.contains(status) { return result }
            guard BlobErrorClassifier.isTransient(result), attempt < 3 else { break }
            try? await Task.sleep(for: .milliseconds(200 << (attempt - 1)))
        }
        return result
    }

    private func describe(_ result: HTTPResult, _ uri: BlobURI) -> String? {
        switch result {
        case .response(let status, _, _) where (200..<300).contains(status): return nil
        case .response(let status, let headers, let body):
            let code = BlobErrorClassifier.azureCode(
                headers: headers, body: String(decoding: body.prefix(2000), as: UTF8.self))
            return "upload to \(uri.display) failed: HTTP \(status)\(code.map { " \($0)" } ?? "")"
        case .timedOut: return "upload to \(uri.display) timed out"
        case .failed(let reason): return "upload to \(uri.display) failed: \(reason)"
        }
    }
}
