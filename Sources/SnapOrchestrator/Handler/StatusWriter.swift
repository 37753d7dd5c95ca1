import Foundation
import SnapCore
import SnapSystem

/// Writes a handler status: the status blob, then the status file atomically (temp file + rename).
///
/// Both documents are first bounded by `StatusBudget` (status file ≤ 120 KiB, blob ≤ the file).
/// The status folder is never created: it belongs to the guest agent, and when it is gone the
/// extension directory was removed (uninstall or upgrade during a run) — the file is then skipped,
/// while the blob is still uploaded.
package struct StatusWriter: Sendable {
    let statusFolder: String
    let blobClient: any HTTPClient

    package init(statusFolder: String, blobClient: any HTTPClient) {
        self.statusFolder = statusFolder
        self.blobClient = blobClient
    }

    /// The status file of a sequence number.
    package func path(_ sequence: Int) -> String { "\(statusFolder)/\(sequence).status" }

    /// True when the status folder exists (the extension directory was not removed).
    package var folderExists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: statusFolder, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The code of the status file of `sequence`, nil when it is missing or unreadable.
    package func writtenCode(_ sequence: Int) -> Int? {
        guard let data = FileManager.default.contents(atPath: path(sequence)),
            let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
            let status = array.first?["status"] as? [String: Any]
        else { return nil }
        return (status["code"] as? Int) ?? (status["code"] as? String).flatMap { Int($0) }
    }

    /// Uploads the blob (when a URI is given), then writes the file; returns the problems met.
    @discardableResult
    package func write(_ status: HandlerStatus, sequence: Int, blobURI: SASURI?) async -> [String] {
        var status = StatusBudget.fit(status)
        var problems: [String] = []
        if let blobURI {
            if let uri = BlobURI(blobURI) {
                if let error = await BlobWriter(client: blobClient, budget: .seconds(30)).write(
                    Data(status.blobDocument().utf8), to: uri)
                {
                    problems.append("status blob: \(error)")
                    status.telemetry.append(("statusBlobUploadError", "true"))
                }
            } else {
                problems.append("statusBlobUri is not a blob URI: \(blobURI)")
            }
        }
        guard folderExists else {
            problems.append("\(statusFolder) is gone (the extension directory was removed): status file skipped")
            return problems
        }
        do {
            try FileSystem.writeAtomically(Array(status.fileDocument().utf8), to: path(sequence), mode: 0o644)
        } catch {
            problems.append("cannot write \(path(sequence)): \(error)")
        }
        return problems
    }
}
