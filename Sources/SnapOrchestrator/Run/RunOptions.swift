/// What the admin (or the handler) asked of one run, on top of the config.
public struct RunOptions: Sendable, Hashable {
    /// Print the plan, execute nothing.
    public var dryRun = false
    /// False with `--no-freeze`.
    public var freeze = true
    /// False with `--no-snapshot`.
    public var snapshot = true
    /// `--mount`: freeze exactly these.
    public var mounts: [String] = []
    /// `--disk`: blob SAS URIs to snapshot.
    public var disks: [String] = []
    /// Task id from the handler settings (default: the run id).
    public var taskId: String?
    /// The run's id, set by the orchestrator (exported to every process the run starts).
    public var runId: String?

    /// Creates default options (a full run).
    public init() {}
}
