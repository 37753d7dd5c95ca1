import Foundation
import SnapSystem

/// The whole configuration of SnapOrchestrator, as read from `prepost.yaml` (or the legacy files).
package struct Config: Sendable, Hashable {
    /// Schema version; only 1 exists.
    package var version: Int = 1
    /// What to freeze and for how long.
    package var freeze = FreezeSettings()
    /// How disks are snapshotted.
    package var snapshot = SnapshotSettings()
    /// Plugins in pre order.
    package var plugins: [PluginSpec] = []
    /// Directory of drop-in executables run after the listed plugins, if any.
    package var scriptsDir: String?
    /// Budget for the whole pre phase (nil: the sum of the plugins' own budgets).
    package var preTimeout: TimeSpan?
    /// Budget for the whole post phase.
    package var postTimeout: TimeSpan?
    /// Grace period between SIGTERM and SIGKILL when a step times out.
    package var killGrace: TimeSpan = .seconds(5)
    /// Split-phase runs (`snaporch begin` / `snaporch end`).
    package var split = SplitSettings()
    /// Where the config came from (a path), for messages.
    package var source: String = ""

    /// Creates a default config (no plugins, freeze enabled, blob provider).
    package init() {}
}

/// The `freeze:` section.
package struct FreezeSettings: Sendable, Hashable {
    /// When false, nothing is frozen and consistency is at most `crash`.
    package var enabled = true
    /// The guard thaws by itself after this long.
    package var timeout: TimeSpan = .seconds(30)
    /// When non-empty, exactly these mount points are frozen.
    package var mounts: [String] = []
    /// Glob patterns of mount points never frozen.
    package var exclude: [String] = ["/mnt/*"]
    /// Where each entry of `mounts` is written in the config (same order), for positioned findings.
    package var mountMarks: [SourceMark] = []
    /// Expedite the kernel's RCU grace periods for the instant of FIFREEZE (~25 ms → ~1 ms a filesystem).
    package var expediteRCU = true
    /// How long the `syncfs` of the selected mounts before the window may take; a disk that cannot
    /// flush in that time is not frozen (writers would stall behind the rest of the flush).
    package var syncTimeout: TimeSpan = .seconds(120)
    /// The longest `syncTimeout`: what runs between the pre steps and the holds must fit
    /// `HoldDeadline.windowPreparation`.
    package static let maxSyncTimeout = TimeSpan.seconds(240)

    /// Creates the default section.
    package init() {}
}

/// The `snapshot:` section.
package struct SnapshotSettings: Sendable, Hashable {
    /// Which mechanism takes the disk snapshots (the same type the report names it with).
    package typealias Provider = SnapshotProviderKind

    /// The mechanism.
    package var provider: Provider = .blob
    /// Blob SAS URIs to snapshot.
    package var disks: [SASURI] = []
    /// argv for `provider: command`.
    package var command: [String] = []
    /// Budget of each snapshot call, always inside the freeze deadline.
    package var timeout: TimeSpan = .seconds(20)
    /// Guest/host method when both paths exist (default: the provider's own path only).
    package var method: SnapshotMethod?

    /// Creates the default section.
    package init() {}
}

/// The `split:` section: split-phase runs (`snaporch begin` / `snaporch end`).
package struct SplitSettings: Sendable, Hashable {
    /// The shortest and longest lease a config or `--lease` may ask for.
    package static let leaseRange: ClosedRange<TimeSpan> = .seconds(1) ... .seconds(1800)

    /// How long the holder keeps the system quiesced waiting for `end` before it releases
    /// everything itself (thaw, releases, posts).
    package var lease: TimeSpan = .seconds(60)

    /// Creates the default section.
    package init() {}
}

/// One entry of `plugins:`.
package struct PluginSpec: Sendable, Hashable {
    /// The plugin types.
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case script, mysql, postgres
    }

    /// What to do when a pre step fails.
    package enum FailurePolicy: String, Sendable, Hashable, Codable, CaseIterable {
        /// Snapshot anyway; consistency is downgraded and the reason recorded.
        case `continue`
        /// Stop the pre phase: no freeze, no snapshot.
        case abort
    }

    /// Unique name.
    package var name: String
    /// Plugin type.
    package var kind: Kind = .script
    /// Pre executable (scripts).
    package var pre: String?
    /// Post executable (scripts).
    package var post: String?
    /// Hold executable (scripts): the short pause taken right before the freeze, after every pre.
    package var hold: String?
    /// Release executable (scripts): ends the hold right after the thaw, before every post.
    package var release: String?
    /// argv after the executable.
    package var args: [String] = []
    /// Budget of one attempt.
    package var timeout: TimeSpan = .seconds(30)
    /// Extra attempts after a failure.
    package var retries: Int = 0
    /// What a failed pre means for the run.
    package var onFailure: FailurePolicy = .continue
    /// Options of the `mysql` and `postgres` types, decoded and checked by the config layer.
    package var database = DatabaseOptions()
    /// True for an executable found in `scripts_dir` rather than listed.
    package var isDropIn = false
    /// argv of the post step when it differs from `args` (legacy `postScriptParams`).
    package var postArgs: [String]?
    /// Run the scripts as `/bin/sh SCRIPT ARGS…` (the legacy plugin framework does; no exec bit needed).
    package var runWithShell = false
    /// The legacy `fsFreezeEnabled` of this plugin.
    package var legacyFreezeEnabled = true
    /// Where the entry starts in the config.
    package var mark: SourceMark?

    /// Creates a plugin entry.
    package init(name: String, kind: Kind = .script) {
        self.name = name
        self.kind = kind
    }
}

extension Config {
    /// The config with its script paths and `scripts_dir` resolved under `paths.root`
    /// (`SNAPORCH_ROOT`), so a private tree can carry the stock config unchanged.
    package func resolved(under paths: Paths) -> Config {
        guard paths.root != "/" else { return self }
        var copy = self
        copy.scriptsDir = scriptsDir.map(paths.resolve)
        for i in copy.plugins.indices {
            copy.plugins[i].pre = copy.plugins[i].pre.map(paths.resolve)
            copy.plugins[i].post = copy.plugins[i].post.map(paths.resolve)
            copy.plugins[i].hold = copy.plugins[i].hold.map(paths.resolve)
            copy.plugins[i].release = copy.plugins[i].release.map(paths.resolve)
        }
        return copy
    }
}
