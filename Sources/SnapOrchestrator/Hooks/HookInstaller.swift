import Foundation
import SnapCore
import SnapSystem

/// Writes and removes the small wrapper scripts through which each platform's agent calls
/// `snaporch hook`: root-owned, mode 0755, in the platform's own location under `root`.
///
/// Safety contract: a file at a target that is not one of ours (no wrapper marker) is never
/// replaced without `force`, and never removed; a symlink at the target is replaced, not followed.
package struct HookInstaller: Sendable {
    /// The tree the platform locations are resolved in (`/`, `--root DIR` or `SNAPORCH_ROOT`).
    package var root: Paths
    /// The `snaporch` binary the wrappers run.
    package var executable: String
    /// A config file the wrappers pass with `--config` (nil: the default config).
    package var config: String?

    /// Creates an installer.
    package init(root: Paths, executable: String, config: String? = nil) {
        self.root = root
        self.executable = executable
        self.config = config
    }

    /// One file to install: where, the directory's mode when it must be created, the script.
    package struct Target: Sendable, Equatable {
        /// The absolute path on the machine (before `root`).
        package var path: String
        /// The mode of the directory when it is created.
        package var directoryMode: Int
        /// The `snaporch hook` arguments the wrapper passes before the platform's own.
        package var hookArguments: [String]
    }

    /// The files a platform's agent calls (none for AWS: its document lives in SSM).
    package static func targets(_ platform: HookPlatform) -> [Target] {
        switch platform {
        case .qemuGA:
            [Target(path: "/etc/qemu/fsfreeze-hook.d/snaporch", directoryMode: 0o755, hookArguments: ["qemu-ga"])]
        case .vmware:
            [
                Target(
                    path: "/etc/vmware-tools/backupScripts.d/snaporch", directoryMode: 0o755,
                    hookArguments: ["vmware"])
            ]
        case .gce:
            [
                Target(path: "/etc/google/snapshots/pre.sh", directoryMode: 0o700, hookArguments: ["gce", "pre"]),
                Target(path: "/etc/google/snapshots/post.sh", directoryMode: 0o700, hookArguments: ["gce", "post"]),
            ]
        case .aws: []
        }
    }

    /// The first line after the shebang of every wrapper: what marks a file as ours.
    package static let marker =
        "# snaporch hook wrapper: written by `snaporch hook install`, removed by `hook uninstall`."

    /// The wrapper script for `target`.
    package func script(_ target: Target) -> String {
        let configArgs = config.map { ["--config", $0] } ?? []
        let argv = ([executable, "hook"] + configArgs + target.hookArguments).map(ShellQuote.quote)
        return """
            #!/bin/sh
            \(Self.marker)
            # The platform's arguments follow; exit codes: see `snaporch help hook`.
            exec \(argv.joined(separator: " ")) "$@"

            """
    }

    /// Installs `platform`'s wrappers; returns the paths written.
    /// - Throws: `HookUsageError` naming a foreign file in the way (without `force`) or a write error.
    package func install(_ platform: HookPlatform, force: Bool) throws(HookUsageError) -> [String] {
        let targets = Self.targets(platform)
        for target in targets where !force {
            let path = root.resolve(target.path)
            if FileManager.default.fileExists(atPath: path) || FileSystem.symbolicLinkTarget(path) != nil,
                !Self.isOurs(path)
            {
                throw HookUsageError("\(path) exists and is not a snaporch wrapper: not replaced (use --force)")
            }
        }
        var written: [String] = []
        for target in targets {
            let path = root.resolve(target.path)
            let directory = (path as NSString).deletingLastPathComponent
            do {
                if !FileManager.default.fileExists(atPath: directory) {
                    try FileSystem.makeDirectory((directory as NSString).deletingLastPathComponent)
                    try FileSystem.makeDirectory(directory, mode: target.directoryMode)
                }
                try FileSystem.writeAtomically(Array(script(target).utf8), to: path, mode: 0o755)
            } catch {
                throw HookUsageError("cannot write \(path): \(error)")
            }
            written.append(path)
        }
        return written
    }

    /// Removes `platform`'s wrappers that are ours; returns (removed, kept foreign files).
    package func uninstall(_ platform: HookPlatform) -> (removed: [String], kept: [String]) {
        var removed: [String] = []
        var kept: [String] = []
        for target in Self.targets(platform) {
            let path = root.resolve(target.path)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            if Self.isOurs(path) && FileSystem.remove(path) { removed.append(path) } else { kept.append(path) }
        }
        return (removed, kept)
    }

    /// True when `path` is a regular file (not a symlink) whose second line is the marker.
    package static func isOurs(_ path: String) -> Bool {
        guard (try? FileStatus.of(path, followingSymlinks: false))?.kind == .regular,
            case .success(let bytes) = ConfigLoader.readFile(path, limit: 64 << 10)
        else { return false }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 2)
        return lines.count >= 2 && lines[1] == marker
    }
}
