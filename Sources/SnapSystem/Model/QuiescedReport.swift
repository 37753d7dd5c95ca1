/// What `snaporch begin` prints once the system is quiesced (text, or this document with
/// `--json`): the begin part of a split-phase run — every pre and hold step, the frozen mounts,
/// and until when the holder waits for `snaporch end`.
package struct QuiescedReport: Sendable, Codable, Hashable {
    /// The run's id (the one `end` reports on).
    package var runId: String
    /// The backup task id.
    package var taskId: String
    /// `quiesced`, or `degraded` when a step with `on_failure: continue` failed (exit 3).
    package var state: String
    /// The split part (caller, lease, the window's limit and bound, holder pid, quiesced at).
    package var split: SplitReport
    /// When the window closes by itself if `end` does not come, ISO-8601.
    package var windowEndsAt: String
    /// Every plugin's pre and hold step so far.
    package var plugins: [PluginReport]
    /// The mounts snaporch froze (none when the platform freezes, or without `--freeze`).
    package var freeze: FreezeReport
    /// Errors so far.
    package var errors: [ErrorEntry]
    /// Why the run is degraded, so far.
    package var reasons: [String]

    /// True when a step failed under `on_failure: continue` or a freeze failed: begin exits 3.
    package var degraded: Bool { state != "quiesced" }

    /// Creates the begin part of a split-phase run.
    package init(
        runId: String, taskId: String, degraded: Bool, split: SplitReport, windowEndsAt: String,
        plugins: [PluginReport], freeze: FreezeReport, errors: [ErrorEntry], reasons: [String]
    ) {
        self.runId = runId
        self.taskId = taskId
        self.state = degraded ? "degraded" : "quiesced"
        self.split = split
        self.windowEndsAt = windowEndsAt
        self.plugins = plugins
        self.freeze = freeze
        self.errors = errors
        self.reasons = reasons
    }
}
