import SnapSystem

/// What the Azure handler settings ask of a run (the daemon's settings file, or `run --settings`):
/// the disks, the snapshot method, and the host path's request and metadata.
package struct HandlerRequest: Sendable {
    /// Blob SAS URIs of the disks (used when the command line names none).
    package var disks: [SASURI]
    /// The settings' snapshot method (used when the config names none, for `blob` and `host`).
    package var snapshotMethod: SnapshotMethod
    /// What the host snapshot path sends.
    package var host: HostSnapshotRequest
    /// `backupMetadata` pairs: x-ms-meta headers (guest) / snapshotMetadata (host).
    package var metadata: [(key: String, value: String)]

    /// Creates a request from the settings' parts.
    package init(
        disks: [SASURI], snapshotMethod: SnapshotMethod, host: HostSnapshotRequest,
        metadata: [(key: String, value: String)]
    ) {
        self.disks = disks
        self.snapshotMethod = snapshotMethod
        self.host = host
        self.metadata = metadata
    }
}
