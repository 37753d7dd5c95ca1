import Foundation
import SnapSystem

/// What the host snapshot service (BHS, reached through the wire server) needs to know.
package struct HostSnapshotRequest: Sendable, Hashable {
    /// The backup task (customSettings `backupTaskId` when given, else the handler's taskId).
    package var taskId: String
    /// The service's token for this snapshot task.
    package var snapshotTaskToken: String
    /// LUNs of the disks to snapshot; -1 is the OS disk.
    package var diskIds: [Int]
    /// Well-known setting flags (`isSnapshotTtlEnabled`, …), sent as `{Key, Value}` pairs.
    package var settings: [String: Bool]
    /// Backup metadata, sent as `snapshotMetadata`.
    package var metadata: [String: String]
    /// Instant-access duration, sent only when set.
    package var instantAccessDurationMinutes: Int?

    package init(
        taskId: String, snapshotTaskToken: String = "", diskIds: [Int] = [-1], settings: [String: Bool] = [:],
        metadata: [String: String] = [:], instantAccessDurationMinutes: Int? = nil
    ) {
        self.taskId = taskId
        self.snapshotTaskToken = snapshotTaskToken
        self.diskIds = diskIds
        self.settings = settings
        self.metadata = metadata
        self.instantAccessDurationMinutes = instantAccessDurationMinutes
    }
}

/// `provider: host`: the presnapshot / dosnapshot JSON calls to the wire server (reference §4.6).
///
/// `presnapshot` runs before the window (availability and stale check); `dosnapshot` runs inside
/// it, bounded by the deadline. `isSuccessful` is accepted as the string "true" or a JSON bool.
package struct HostSnapshotProvider: SnapshotProvider {
    package let name = "host"
    let endpoint: String
    let request: HostSnapshotRequest
    let timeout: TimeSpan
    let client: any HTTPClient

    /// The wire server address: `SNAPORCH_WIRESERVER=host:port`, else the address the guest agent
    /// gives its extensions (`AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS`, port 80 unless it names one),
    /// else 168.63.129.16:80.
    package static func endpoint(environment: [String: String]) -> String {
        if let explicit = environment["SNAPORCH_WIRESERVER"], !explicit.isEmpty { return explicit }
        if let agent = environment["AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS"]?.trimmingCharacters(in: .whitespaces),
            !agent.isEmpty
        {
            let hasPort = agent.hasPrefix("[") ? agent.contains("]:") : agent.contains(":")
            return hasPort ? agent : agent + ":80"
        }
        return "168.63.129.16:80"
    }

    package init(endpoint: String, request: HostSnapshotRequest, timeout: TimeSpan, client: any HTTPClient) {
        self.endpoint = endpoint
        self.request = request
        self.timeout = timeout
        self.client = client
    }

    /// The endpoint URL of a call; nil when `SNAPORCH_WIRESERVER` is not a usable `host:port`.
    func url(_ call: String) -> URL? {
        URL(string: "http://\(endpoint)/metadata/recsvc/snapshot/\(call)?api-version=2017-12-01")
    }

    static let headers = ["Backup": "true", "Content-Type": "application/json", "User-Agent": "VMSnapshot"]

    package func prepare() async throws(SnapshotError) -> any PreparedSnapshot {
        let pre: [String: Any] = ["taskId": request.taskId, "snapshotTaskToken": request.snapshotTaskToken]
        let body = (try? JSONSerialization.data(withJSONObject: pre, options: [.sortedKeys])) ?? Data()
        guard let presnapshot = url("presnapshot"), let dosnapshot = url("dosnapshot") else {
            throw SnapshotError(
                code: .snapshotFailedNoNetwork,
                "the wire server address '\(endpoint)' is not host:port")
        }
        let result = await client.send(
            HTTPRequest(method: "POST", url: presnapshot, headers: Self.headers, body: body),
            timeout: .milliseconds(min(timeout.milliseconds, 10_000)))
        switch result {
        case .response(let status, _, _) where status == 200 || status == 201: break
        case .response(let status, _, let data):
            throw SnapshotError(
                code: .snapshotFailedNoNetwork,
                "host presnapshot answered HTTP \(status)\(Self.hint(status, data))")
        case .timedOut:
            throw SnapshotError(
                code: .snapshotFailedNoNetwork, "host presnapshot timed out (\(endpoint))")
        case .failed(let reason):
            throw SnapshotError(
                code: .snapshotFailedNoNetwork,
                "no answer from the wire server \(endpoint) for presnapshot: \(reason) (555)")
        }
        var doSnapshot: [String: Any] = [
            "taskId": request.taskId,
            "diskIds": request.diskIds,
            "settings": request.settings.sorted { $0.key < $1.key }.map { ["Key": $0.key, "Value": $0.value] },
            "snapshotTaskToken": request.snapshotTaskToken,
            "snapshotMetadata": request.metadata.sorted { $0.key < $1.key }.map { ["Key": $0.key, "Value": $0.value] },
        ]
        if let minutes = request.instantAccessDurationMinutes { doSnapshot["instantAccessDurationMinutes"] = minutes }
        let payload = (try? JSONSerialization.data(withJSONObject: doSnapshot, options: [.sortedKeys])) ?? Data()
        return Prepared(
            request: HTTPRequest(method: "POST", url: dosnapshot, headers: Self.headers, body: payload),
            timeout: timeout, client: client, endpoint: endpoint)
    }

    static func hint(_ status: Int, _ body: Data) -> String {
        let text = Redactor().redact(String(decoding: body.prefix(300), as: UTF8.self))
        if status == 500 && !text.hasPrefix("{ \"error\"") && !text.hasPrefix("{\"error\"") {
            return " (556: BHS is not running)"
        }
        return text.isEmpty ? "" : ": \(Redactor().redact(text))"
    }

    struct Prepared: PreparedSnapshot {
        let request: HTTPRequest
        let timeout: TimeSpan
        let client: any HTTPClient
        let endpoint: String

        func take(deadlineNanos: UInt64) async -> SnapshotReport {
            var report = SnapshotReport()
            report.provider = .host
            let start = Sys.monotonicNanos()
            let end = min(deadlineNanos, start + UInt64(timeout.milliseconds) * 1_000_000)
            guard end > start else {
                report.error = "no time left before the freeze deadline"
                report.errorCode = .snapshotFailedNoNetwork
                return report
            }
            let result = await client.send(request, timeout: .nanoseconds(Int64(end - start)))
            let ms = Int((Sys.monotonicNanos() - start) / 1_000_000)
            switch result {
            case .response(let status, _, let body) where status == 200 || status == 201:
                guard !body.isEmpty else {
                    report.error = "host dosnapshot answered \(status) with an empty body (557)"
                    break
                }
                report.disks = Self.parse(body)
                if report.disks.isEmpty { report.error = "host dosnapshot returned no snapshotInfo" }
                for i in report.disks.indices { report.disks[i].durationMs = ms }
            case .response(let status, _, let body):
                report.error = "host dosnapshot answered HTTP \(status)\(HostSnapshotProvider.hint(status, body))"
            case .timedOut:
                report.error = "host dosnapshot timed out at the freeze deadline"
            case .failed(let reason):
                report.error = "no answer from the wire server \(endpoint) for dosnapshot: \(reason) (555)"
            }
            let failed = report.disks.filter { !$0.ok }.count
            report.taken = !report.disks.isEmpty && failed < report.disks.count
            if !report.taken {
                report.errorCode = .snapshotFailedNoNetwork
                report.error = report.error ?? "every host snapshot failed: \(report.disks.first?.error ?? "")"
            } else if failed > 0 {
                report.errorCode = .snapshotFailedRestrictedNetwork
                report.error = "\(failed) of \(report.disks.count) host snapshot(s) failed"
            }
            return report
        }

        /// Maps `{"snapshotInfo": [{isSuccessful, snapshotUri, errorMessage, statusCode}]}` to disk reports.
        static func parse(_ body: Data) -> [DiskReport] {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let infos = object["snapshotInfo"] as? [[String: Any]]
            else { return [] }
            return infos.map { info in
                let success: Bool
                switch info["isSuccessful"] {
                case let flag as Bool: success = flag
                case let text as String: success = text.lowercased() == "true"
                case let number as NSNumber: success = number.boolValue
                default: success = false
                }
                let uri = info["snapshotUri"] as? String
                var disk = DiskReport(
                    blob: uri.map { String($0.split(separator: "?").first ?? "") } ?? "(host disk)", ok: success)
                disk.snapshot = uri.map(Redactor.redactURI)
                if !success {
                    let message = (info["errorMessage"] as? String) ?? "failed"
                    disk.error = "\(message)\((info["statusCode"]).map { " (status \($0))" } ?? "")"
                }
                return disk
            }
        }
    }
}
