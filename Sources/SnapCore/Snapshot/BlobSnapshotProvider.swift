import Foundation
import SnapSystem

/// `provider: blob`: `PUT <SAS URI>&comp=snapshot` for every disk, all in parallel.
///
/// Before the window it builds every request and checks every SAS with a HEAD (which also opens
/// the connections), so an expired SAS fails the run before anything is frozen. Inside the window
/// each call is bounded by `snapshot.timeout` and by the freeze deadline; transient failures
/// (5xx, 503 with `Retry-After`, timeouts, resets) are retried with backoff while the deadline allows.
package struct BlobSnapshotProvider: SnapshotProvider {
    package let name = "blob"
    let disks: [SASURI]
    let metadata: [(key: String, value: String)]
    let timeout: TimeSpan
    let client: any HTTPClient
    /// The x-ms-version sent with every call.
    package static let apiVersion = "2021-08-06"

    /// Creates the provider for `disks` (SAS URIs) with backup `metadata` pairs.
    package init(
        disks: [SASURI], metadata: [(key: String, value: String)] = [], timeout: TimeSpan, client: any HTTPClient
    ) {
        self.disks = disks
        self.metadata = metadata
        self.timeout = timeout
        self.client = client
    }

    package func prepare() async throws(SnapshotError) -> any PreparedSnapshot {
        guard !disks.isEmpty else {
            throw SnapshotError(
                code: .snapshotFailedNoNetwork,
                "no disks to snapshot (give --disk, snapshot.disks or the handler settings)")
        }
        var uris: [BlobURI] = []
        for disk in disks {
            guard let uri = BlobURI(disk) else {
                throw SnapshotError(code: .generic, "not a blob URI: \(disk)")
            }
            uris.append(uri)
        }
        let date = Self.rfc1123(Date())
        var headers = ["x-ms-version": Self.apiVersion, "x-ms-date": date, "Content-Length": "0"]
        for pair in metadata { headers["x-ms-meta-\(pair.key)"] = pair.value }
        let requests = uris.map { HTTPRequest(method: "PUT", url: $0.adding(query: "comp=snapshot"), headers: headers) }
        // Check the SAS of every disk and warm the connections, in parallel, before any freeze.
        let client = self.client
        let probeTimeout = Duration.milliseconds(min(timeout.milliseconds, 5000))
        let rejected = await withTaskGroup(of: String?.self) { group in
            for uri in uris {
                group.addTask {
                    let probe = HTTPRequest(
                        method: "HEAD", url: uri.url,
                        headers: ["x-ms-version": Self.apiVersion, "x-ms-date": date])
                    let result = await client.send(probe, timeout: probeTimeout)
                    if case .response(403, let h, _) = result, h["x-ms-error-code"] == "AuthenticationFailed" {
                        return "\(uri.display): the SAS was rejected (AuthenticationFailed: expired or wrong signature)"
                    }
                    return nil
                }
            }
            var found: [String] = []
            for await item in group { if let item { found.append(item) } }
            return found
        }
        if !rejected.isEmpty {
            throw SnapshotError(
                code: .snapshotFailedNoNetwork, rejected.sorted().joined(separator: "; "))
        }
        return Prepared(uris: uris, requests: requests, timeout: timeout, client: client)
    }

    struct Prepared: PreparedSnapshot {
        let uris: [BlobURI]
        let requests: [HTTPRequest]
        let timeout: TimeSpan
        let client: any HTTPClient

        func take(deadlineNanos: UInt64) async -> SnapshotReport {
            var report = SnapshotReport()
            report.provider = .blob
            let disks = await withTaskGroup(of: (Int, DiskReport, ErrorCode?).self) { group in
                for index in uris.indices {
                    group.addTask { await snapshot(index, deadlineNanos: deadlineNanos) }
                }
                var results = [(DiskReport, ErrorCode?)?](repeating: nil, count: uris.count)
                for await (index, disk, code) in group { results[index] = (disk, code) }
                return results.compactMap { $0 }
            }
            report.disks = disks.map(\.0)
            let failed = disks.filter { !$0.0.ok }
            report.taken = failed.count < disks.count
            if !failed.isEmpty {
                let specific = failed.compactMap(\.1).first
                let code =
                    specific
                    ?? (failed.count == disks.count ? .snapshotFailedNoNetwork : .snapshotFailedRestrictedNetwork)
                report.error =
                    "\(failed.count) of \(disks.count) disk snapshot(s) failed (\(code.rawValue) \(code.name)): "
                    + (failed.first?.0.error ?? "")
                report.errorCode = code
            }
            return report
        }

        /// One disk: attempts until success, a permanent error, or the deadline.
        func snapshot(_ index: Int, deadlineNanos: UInt64) async -> (Int, DiskReport, ErrorCode?) {
            let start = Sys.monotonicNanos()
            let callBudget = UInt64(timeout.milliseconds) * 1_000_000
            let end = min(deadlineNanos, start + callBudget)
            var disk = DiskReport(blob: uris[index].display, ok: false)
            var code: ErrorCode?
            var attempt = 0
            while true {
                attempt += 1
                let now = Sys.monotonicNanos()
                guard now < end else {
                    disk.error = disk.error ?? "no time left before the freeze deadline"
                    break
                }
                let result = await client.send(requests[index], timeout: .nanoseconds(Int64(end - now)))
                switch result {
                case .response(let status, let headers, _) where status == 200 || status == 201:
                    disk.ok = true
                    disk.error = nil
                    disk.snapshot = headers["x-ms-snapshot"].map { uris[index].snapshotURI($0) }
                    code = nil
                case .response(let status, let headers, let body):
                    let text = String(decoding: body.prefix(2000), as: UTF8.self)
                    code = BlobErrorClassifier.code(forBody: text)
                    let azure = BlobErrorClassifier.azureCode(headers: headers, body: text).map { " \($0)" } ?? ""
                    let cut = result.bodyWasCut ? " (error body cut at \(body.count) bytes)" : ""
                    let moved = (300..<400).contains(status) ? " (redirect not followed)" : ""
                    disk.error = "HTTP \(status)\(azure)\(moved)\(cut) after \(attempt) attempt(s)"
                case .timedOut:
                    disk.error = "timed out after \(attempt) attempt(s)"
                case .failed(let reason):
                    disk.error = "\(reason) after \(attempt) attempt(s)"
                }
                if disk.ok || !BlobErrorClassifier.isTransient(result) { break }
                // Backoff: Retry-After when given, else 100 ms doubling; never past the deadline.
                var pause = UInt64(100_000_000) << UInt64(min(attempt - 1, 4))
                if case .response(_, let headers, _) = result,
                    let after = headers["retry-after"].flatMap({ Double($0) }), after.isFinite, after >= 0
                {
                    // The server chooses this number: clamp it (a past-the-deadline pause ends the loop below).
                    pause = UInt64(min(after, 3600) * 1e9)
                }
                let wake = Sys.monotonicNanos() + pause
                if wake >= end {
                    disk.error = (disk.error ?? "") + "; no time left to retry before the deadline"
                    break
                }
                try? await Task.sleep(for: .nanoseconds(Int64(pause)))
            }
            disk.durationMs = Int((Sys.monotonicNanos() - start) / 1_000_000)
            return (index, disk, code)
        }
    }

    /// `date` as RFC 1123 (`x-ms-date`), without ICU.
    static func rfc1123(_ date: Date) -> String { UTCTimestamp(epochSeconds: date.timeIntervalSince1970).rfc1123 }
}
