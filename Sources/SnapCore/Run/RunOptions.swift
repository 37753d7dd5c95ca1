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

    /// Creates default options (a full run).
    package init() {}
}
