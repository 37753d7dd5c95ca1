/// An application-consistency plugin: a pre step (quiesce) and a post step (resume).
///
/// Implementations may keep state between `pre` and `post` (a database plugin keeps its client
/// session open across the freeze window), so the pipeline calls both on the same instance.
public protocol Plugin: Sendable {
    /// The configuration entry this plugin was built from.
    var spec: PluginSpec { get }

    /// Quiesces the application. Must return within `context.budget` plus the kill grace.
    func pre(_ context: StepContext) async -> StepReport

    /// Resumes the application. Called for every plugin whose pre started, whatever happened.
    func post(_ context: StepContext) async -> StepReport

    /// The command lines the steps would run, for `--dry-run` and the journal.
    func describe(_ phase: Phase) -> String?

    /// Called right after the thaw for a plugin whose pre succeeded: nil when its quiesce held
    /// through the window, else why it did not (a database session that died, say).
    func verifyHeld() async -> String?
}

extension Plugin {
    public func verifyHeld() async -> String? { nil }
}

/// pre or post.
public enum Phase: String, Sendable, Codable, Hashable {
    case pre, post
}

/// What a step knows about the run it belongs to.
public struct StepContext: Sendable {
    /// The phase.
    public var phase: Phase
    /// Run identifier.
    public var runId: String
    /// Backup task identifier (from the handler settings, or the run id).
    public var taskId: String
    /// The time left for this step (the plugin timeout capped by the phase budget).
    public var budget: TimeSpan
    /// Epoch seconds by which the step must be done (exported as SNAPORCH_DEADLINE).
    public var deadlineEpoch: Int64
    /// True for a dry run (scripts are told, nothing is run).
    public var dryRun: Bool
    /// For post: `snapshot-taken` or `no-snapshot`.
    public var outcome: String?
    /// For post: the consistency reached.
    public var consistency: String?
    /// Grace between SIGTERM and SIGKILL.
    public var killGrace: TimeSpan
    /// Masks secrets in captured output.
    public var redactor: Redactor
    /// The mount points the run freezes (empty when it does not freeze).
    public var frozenMounts: [String] = []

    /// Creates a context.
    public init(
        phase: Phase, runId: String, taskId: String, budget: TimeSpan, deadlineEpoch: Int64, dryRun: Bool = false,
        outcome: String? = nil, consistency: String? = nil, killGrace: TimeSpan = .seconds(5),
        redactor: Redactor = Redactor(), frozenMounts: [String] = []
    ) {
        self.frozenMounts = frozenMounts
        self.phase = phase
        self.runId = runId
        self.taskId = taskId
        self.budget = budget
        self.deadlineEpoch = deadlineEpoch
        self.dryRun = dryRun
        self.outcome = outcome
        self.consistency = consistency
        self.killGrace = killGrace
        self.redactor = redactor
    }

    /// The `PATH` every step gets (where an `env` interpreter line looks).
    public static let scriptSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The environment contract of the design, on top of a minimal safe base.
    public func environment(plugin: String) -> [String: String] {
        var env: [String: String] = [
            "PATH": Self.scriptSearchPath,
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "SNAPORCH_PHASE": phase.rawValue,
            "SNAPORCH_PLUGIN": plugin,
            "SNAPORCH_TASK_ID": taskId,
            "SNAPORCH_RUN_ID": runId,
            "SNAPORCH_DEADLINE": String(deadlineEpoch),
            "SNAPORCH_DRY_RUN": dryRun ? "1" : "0",
        ]
        if let outcome { env["SNAPORCH_OUTCOME"] = outcome }
        if let consistency { env["SNAPORCH_CONSISTENCY"] = consistency }
        return env
    }
}
