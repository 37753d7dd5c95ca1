import Foundation
import SnapSystem

/// A run decided in advance: which plugins run in which order, what is frozen, what is snapshotted.
///
/// Built by `Planner` from the config and the machine, printed by `--dry-run`, executed by
/// `Orchestrator`.
package struct Plan: Sendable {
    /// One plugin with the reason it is refused, if it is.
    package struct Entry: Sendable {
        /// True when the plugin quiesces an application (a pre script, or a database plugin).
        package var quiesces: Bool { spec.kind != .script || spec.pre != nil || spec.hold != nil }

        package var spec: PluginSpec
        /// Why the pre step may not run (missing, unsafe), with the Azure code.
        package var preRefusal: (code: ErrorCode, message: String)?
        /// Why the post step may not run.
        package var postRefusal: (code: ErrorCode, message: String)?
        /// Why the hold step may not run (a script's hold refused like its pre), if it may not.
        package var holdRefusal: (code: ErrorCode, message: String)?
        /// Why the release step may not run, if it may not.
        package var releaseRefusal: (code: ErrorCode, message: String)?
    }

    package var config: Config
    package var options: RunOptions
    package var entries: [Entry]
    /// Mounts to freeze, in freeze order (empty when freezing is off).
    package var mounts: [MountEntry]
    package var skippedMounts: [SkippedMount]
    /// Problems selecting mounts (a listed mount that does not exist).
    package var mountErrors: [String]
    /// True when the window is opened.
    package var freezes: Bool
    /// True when disks are snapshotted.
    package var snapshots: Bool
    /// Disks to snapshot (blob provider).
    package var disks: [SASURI]
    /// Drop-ins skipped, with their reason.
    package var skippedDropIns: [DropInScanner.Skipped]

    /// True for a split-phase run whose platform freezes the filesystems itself (qemu-ga, VMware).
    package var platformFreezes: Bool { options.split?.platformFreezes == true && !freezes }

    /// The window of a split-phase run: its limit (the lease, or a shorter freeze timeout when
    /// the run freezes) and which of the two it is; nil for other runs.
    package var splitWindow: (limit: TimeSpan, bound: SplitReport.Bound)? {
        guard let split = options.split else { return nil }
        if freezes && config.freeze.timeout < split.lease { return (config.freeze.timeout, .freezeTimeout) }
        return (split.lease, .lease)
    }
}

/// Builds a `Plan`.
package struct Planner: Sendable {
    package var security = PathSecurity()
    package var mountEntries: @Sendable () -> [MountEntry] = { MountTable.entries() }
    package var allowList: [String]?

    /// Creates a planner for the real machine; `SNAPORCH_FREEZE_ALLOW` (colon-separated) bounds the mounts.
    package init(environment: [String: String]) {
        if let allow = environment["SNAPORCH_FREEZE_ALLOW"] {
            allowList = allow.split(separator: ":").map(String.init)
        }
    }

    /// Plans a run of `config` with `options`.
    package func plan(_ config: Config, options: RunOptions) -> Plan {
        var config = config
        var skippedDropIns: [DropInScanner.Skipped] = []
        if let dir = config.scriptsDir {
            let scan = DropInScanner().scan(dir)
            skippedDropIns = scan.skipped
            let names = Set(config.plugins.map(\.name))
            for script in scan.scripts {
                let base = String(script.split(separator: "/").last ?? "")
                var spec = PluginSpec(name: names.contains(base) ? "dropin:\(base)" : base)
                spec.pre = script
                spec.post = script
                spec.isDropIn = true
                config.plugins.append(spec)
            }
        }
        let entries = config.plugins.map { spec in
            Plan.Entry(
                spec: spec,
                preRefusal: refusal(
                    spec.pre, shell: spec.runWithShell, notFound: .prepostPreScriptNotFound,
                    unsafe: .prepostPreScriptPermissionError),
                postRefusal: refusal(
                    spec.post, shell: spec.runWithShell, notFound: .prepostPostScriptNotFound,
                    unsafe: .prepostPostScriptPermissionError),
                holdRefusal: refusal(
                    spec.hold, shell: spec.runWithShell, notFound: .prepostPreScriptNotFound,
                    unsafe: .prepostPreScriptPermissionError),
                releaseRefusal: refusal(
                    spec.release, shell: spec.runWithShell, notFound: .prepostPostScriptNotFound,
                    unsafe: .prepostPostScriptPermissionError))
        }
        if let split = options.split {
            // The platform takes the snapshot; the window waits for `end`, bounded by the lease
            // (and by freeze.timeout when the run freezes): what the holds' dead-man derives from.
            config.snapshot.provider = .platform
            config.snapshot.timeout = split.lease
            config.freeze.timeout = min(config.freeze.timeout, split.lease)
        }
        let freezes = options.freeze && config.freeze.enabled
        var mounts: [MountEntry] = []
        var skipped: [SkippedMount] = []
        var errors: [String] = []
        if freezes {
            let explicit = options.mounts.isEmpty ? config.freeze.mounts : options.mounts
            let selector = MountSelector(explicit: explicit, exclude: config.freeze.exclude, allowList: allowList)
            (mounts, skipped, errors) = selector.select(from: mountEntries())
        }
        let disks = options.disks.isEmpty ? config.snapshot.disks : options.disks
        return Plan(
            config: config, options: options, entries: entries, mounts: mounts, skippedMounts: skipped,
            mountErrors: errors, freezes: freezes, snapshots: options.snapshot && config.snapshot.provider != .none,
            disks: disks, skippedDropIns: skippedDropIns)
    }

    private func refusal(_ path: String?, shell: Bool, notFound: ErrorCode, unsafe: ErrorCode)
        -> (code: ErrorCode, message: String)?
    {
        guard let path else { return nil }
        if shell {
            // Run as `/bin/sh SCRIPT`: a regular file is enough; no exec bit or shebang needed.
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue {
                return (notFound, "\(path) does not exist or is not a file")
            }
        } else if let problem = ExecutableCheck.problems(for: path).first {
            return (notFound, problem)
        }
        // The file, every component of its path, and what runs it (its `#!` chain, or /bin/sh).
        let problems =
            shell
            ? security.problems(for: path) + security.executableProblems(for: "/bin/sh")
            : security.executableProblems(for: path)
        if let problem = problems.first { return (unsafe, "refused: \(problem)") }
        return nil
    }
}
