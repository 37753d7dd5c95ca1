/// The whole configuration of SnapOrchestrator, as read from `prepost.yaml` (or the legacy files).
public struct Config: Sendable, Hashable {
    /// Schema version; only 1 exists.
    public var version: Int = 1
    /// What to freeze and for how long.
    public var freeze = FreezeSettings()
    /// How disks are snapshotted.
    public var snapshot = SnapshotSettings()
    /// Plugins in pre order.
    public var plugins: [PluginSpec] = []
    /// Directory of drop-in executables run after the listed plugins, if any.
    public var scriptsDir: String?
    /// Budget for the whole pre phase (nil: the sum of the plugins' own budgets).
    public var preTimeout: TimeSpan?
    /// Budget for the whole post phase.
    public var postTimeout: TimeSpan?
    /// Grace period between SIGTERM and SIGKILL when a step times out.
    public var killGrace: TimeSpan = .seconds(5)
    /// Where the config came from (a path), for messages.
    public var source: String = ""

    /// Creates a default config (no plugins, freeze enabled, blob provider).
    public init() {}
}

/// The `freeze:` section.
public struct FreezeSettings: Sendable, Hashable {
    /// When false, nothing is frozen and consistency is at most `crash`.
    public var enabled = true
    /// The guard thaws by itself after this long.
    public var timeout: TimeSpan = .seconds(30)
    /// When non-empty, exactly these mount points are frozen.
    public var mounts: [String] = []
    /// Glob patterns of mount points never frozen.
    public var exclude: [String] = ["/mnt/*"]
    /// Where each entry of `mounts` is written in the config (same order), for positioned findings.
    public var mountMarks: [SourceMark] = []
    /// Expedite the kernel's RCU grace periods for the instant of FIFREEZE (~25 ms → ~1 ms a filesystem).
    public var expediteRCU = true

    /// Creates the default section.
    public init() {}
}

/// The `snapshot:` section.
public struct SnapshotSettings: Sendable, Hashable {
    /// Which mechanism takes the disk snapshots.
    public enum Provider: String, Sendable, Hashable, Codable, CaseIterable {
        case blob, host, command, none
    }

    /// The mechanism.
    public var provider: Provider = .blob
    /// Blob SAS URIs to snapshot.
    public var disks: [String] = []
    /// argv for `provider: command`.
    public var command: [String] = []
    /// Budget of each snapshot call, always inside the freeze deadline.
    public var timeout: TimeSpan = .seconds(20)
    /// Guest/host method when both paths exist (default: the provider's own path only).
    public var method: SnapshotMethod?

    /// Creates the default section.
    public init() {}
}

/// One entry of `plugins:`.
public struct PluginSpec: Sendable, Hashable {
    /// The plugin types.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case script, mysql, postgres
    }

    /// What to do when a pre step fails.
    public enum FailurePolicy: String, Sendable, Hashable, Codable, CaseIterable {
        /// Snapshot anyway; consistency is downgraded and the reason recorded.
        case `continue`
        /// Stop the pre phase: no freeze, no snapshot.
        case abort
    }

    /// Unique name.
    public var name: String
    /// Plugin type.
    public var kind: Kind = .script
    /// Pre executable (scripts).
    public var pre: String?
    /// Post executable (scripts).
    public var post: String?
    /// argv after the executable.
    public var args: [String] = []
    /// Budget of one attempt.
    public var timeout: TimeSpan = .seconds(30)
    /// Extra attempts after a failure.
    public var retries: Int = 0
    /// What a failed pre means for the run.
    public var onFailure: FailurePolicy = .continue
    /// Options of the `mysql` and `postgres` types, decoded and checked by the config layer.
    public var database = DatabaseOptions()
    /// True for an executable found in `scripts_dir` rather than listed.
    public var isDropIn = false
    /// argv of the post step when it differs from `args` (legacy `postScriptParams`).
    public var postArgs: [String]?
    /// Run the scripts as `/bin/sh SCRIPT ARGS…` (the legacy plugin framework does; no exec bit needed).
    public var runWithShell = false
    /// The legacy `fsFreezeEnabled` of this plugin.
    public var legacyFreezeEnabled = true
    /// Where the entry starts in the config.
    public var mark: SourceMark?

    /// Creates a plugin entry.
    public init(name: String, kind: Kind = .script) {
        self.name = name
        self.kind = kind
    }
}

extension Config {
    /// The config with its script paths and `scripts_dir` resolved under `paths.root`
    /// (`SNAPORCH_ROOT`), so a private tree can carry the stock config unchanged.
    public func resolved(under paths: Paths) -> Config {
        guard paths.root != "/" else { return self }
        var copy = self
        copy.scriptsDir = scriptsDir.map(paths.resolve)
        for i in copy.plugins.indices {
            copy.plugins[i].pre = copy.plugins[i].pre.map(paths.resolve)
            copy.plugins[i].post = copy.plugins[i].post.map(paths.resolve)
        }
        return copy
    }
}
