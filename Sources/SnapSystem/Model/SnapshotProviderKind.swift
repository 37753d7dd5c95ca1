/// The snapshot mechanism (`snapshot.provider` of the config, `snapshot.provider` of the report).
package enum SnapshotProviderKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Azure Blob REST snapshots of the disks' SAS URIs, taken by the agent.
    case blob
    /// The host snapshot endpoint (the backup service's host path).
    case host
    /// An admin's command (e.g. an LVM snapshot).
    case command
    /// The platform (qemu-ga's host, VMware, Google, AWS) takes it between `snaporch begin` and
    /// `snaporch end`; only split-phase runs use it (a config cannot choose it).
    case platform
    /// No snapshot.
    case none
}
