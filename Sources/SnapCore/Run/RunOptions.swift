import Foundation
import SnapSystem

/// What the admin (or the handler) asked of one run, on top of the config.
package struct RunOptions: Sendable, Hashable {
    /// Print the plan, execute nothing.
    package var dryRun = false
    /// False with `--no-freeze`.
    package var freeze = true
    /// False with `--no-snapshot`.
    package var snapshot = true
    /// `--mount`: freeze exactly these.
    package var mounts: [String] = []
    /// `--disk`: blob SAS URIs to snapshot.
    package var disks: [SASURI] = []
    /// Task id from the handler settings (default: the run id).
    package var taskId: String?
    /// The run's id, set by the orchestrator (exported to every process the run starts).
    package var runId: String?
    /// Set for a split-phase run (`snaporch begin`): the platform takes the snapshot while the
    /// holder waits for `snaporch end`.
    package var split: SplitWindow?

    /// Creates default options (a full run).
    package init() {}
}

/// What makes a run split-phase: who called begin, the lease, whether the platform freezes.
package struct SplitWindow: Sendable, Hashable {
    /// Who called begin (`qemu-ga`, `vmware`, `gce`, `aws`, `cli`).
    package var caller: String
    /// How long the holder waits for `end` once the system is quiesced.
    package var lease: TimeSpan
    /// True when the platform freezes the filesystems itself around its snapshot (qemu-ga,
    /// VMware Tools): a snapshot it reports taken counts as frozen.
    package var platformFreezes: Bool
    /// What the caller's adapter decided and why (`split.callerNotes` of the report).
    package var notes: [String] = []

    /// Creates the split part of the options.
    package init(caller: String, lease: TimeSpan, platformFreezes: Bool) {
        self.caller = caller
        self.lease = lease
        self.platformFreezes = platformFreezes
    }
}
