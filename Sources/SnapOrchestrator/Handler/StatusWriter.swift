import Foundation
import Glibc

/// Writes a handler status: the status file atomically (temp file + rename) and the status blob.
public struct StatusWriter: Sendable {
    let statusFolder: String
    let blobClient: any HTTPClient

    public init(statusFolder: String, blobClient: any HTTPClient) {
        self.statusFolder = statusFolder
        self.blobClient = blobClient
    }

    /// The status file of a sequence number.
    public func path(_ sequence: Int) -> String { "\(statusFolder)/\(sequence).status" }

    /// Uploads the blob (when a URI is given), then writes the file; returns the problems met.
    @discardableResult
    public func write(_ status: HandlerStatus, sequence: Int, blobURI: String?) async -> [String] {
        var status = status
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
                problems.append("statusBlobUri is not a blob URI: \(Redactor.redactURI(blobURI))")
            }
        }
        do {
            try FileSystem.makeDirectory(statusFolder)
            try FileSystem.writeAtomically(Array(status.fileDocument().utf8), to: path(sequence), mode: 0o644)
        } catch {
            problems.append("cannot write \(path(sequence)): \(error)")
        }
        return problems
    }
}
