import SnapSystem

/// What `snaporch begin` asks of its holder: the internal `snaporch __holder` command line.
package struct HolderRequest: Sendable, Hashable {
    /// The run's id (chosen by begin).
    package var runId: String
    /// The backup task id (default: the run id).
    package var taskId: String?
    /// The config file (nil: the default one).
    package var config: String?
    /// How long the holder waits for `end` once quiesced.
    package var lease: TimeSpan
    /// Who called begin.
    package var caller: String
    /// snaporch freezes (`--freeze`): the selected mounts, or `mounts`.
    package var freeze: Bool
    /// With `freeze`: exactly these mount points.
    package var mounts: [String]
    /// The platform freezes the filesystems itself (qemu-ga, VMware Tools).
    package var platformFreezes: Bool
    /// Where to write the final report too (`--report`).
    package var report: String?
    /// The caller's notes (`--note`, repeatable).
    package var notes: [String] = []

    /// Creates a request.
    package init(
        runId: String, config: String?, lease: TimeSpan, caller: String, freeze: Bool, mounts: [String],
        platformFreezes: Bool
    ) {
        self.runId = runId
        self.config = config
        self.lease = lease
        self.caller = caller
        self.freeze = freeze
        self.mounts = mounts
        self.platformFreezes = platformFreezes
    }

    /// The arguments after `__holder`.
    package var arguments: [String] {
        var argv = ["--run-id", runId, "--lease-ms", String(lease.milliseconds), "--caller", caller]
        if let config { argv += ["--config", config] }
        if let taskId { argv += ["--task-id", taskId] }
        if let report { argv += ["--report", report] }
        if freeze { argv.append("--freeze") }
        if platformFreezes { argv.append("--platform-freezes") }
        for mount in mounts { argv += ["--mount", mount] }
        for note in notes { argv += ["--note", note] }
        return argv
    }

    /// Parses the arguments after `__holder`; nil when they are not a request.
    package init?(arguments argv: [String]) {
        var values: [String: String] = [:]
        var mounts: [String] = []
        var notes: [String] = []
        var flags: Set<String> = []
        var i = 0
        while i < argv.count {
            let key = argv[i]
            if key == "--freeze" || key == "--platform-freezes" {
                flags.insert(key)
                i += 1
                continue
            }
            guard i + 1 < argv.count, key.hasPrefix("--") else { return nil }
            if key == "--mount" {
                mounts.append(argv[i + 1])
            } else if key == "--note" {
                notes.append(argv[i + 1])
            } else {
                values[key] = argv[i + 1]
            }
            i += 2
        }
        guard let runId = values["--run-id"], let ms = values["--lease-ms"].flatMap(Int.init),
            let caller = values["--caller"]
        else { return nil }
        self.init(
            runId: runId, config: values["--config"], lease: TimeSpan(milliseconds: ms), caller: caller,
            freeze: flags.contains("--freeze"), mounts: mounts, platformFreezes: flags.contains("--platform-freezes"))
        taskId = values["--task-id"]
        report = values["--report"]
        self.notes = notes
    }

    /// The run options of this request.
    package var options: RunOptions {
        var options = RunOptions()
        options.freeze = freeze
        options.mounts = mounts
        options.taskId = taskId ?? runId
        options.split = SplitWindow(caller: caller, lease: lease, platformFreezes: platformFreezes)
        options.split?.notes = notes
        return options
    }
}
