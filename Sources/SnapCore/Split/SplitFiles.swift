import Foundation
import SnapSystem

/// Where a split-phase run keeps its state: `/run/snaporch/split/` (tmpfs on a real VM, never a
/// disk the platform freezes or snapshots), root-only (0700).
package struct SplitFiles: Sendable {
    /// The directory.
    package let directory: String

    /// The files under `paths.runDir`.
    package init(paths: Paths) { directory = paths.runDir + "/split" }

    /// The holder's state while it runs (`SplitState`).
    package var state: String { directory + "/state.json" }
    /// The holder's control socket (0600): `snaporch end` connects here.
    package var socket: String { directory + "/control.sock" }
    /// How the last split run ended (`SplitLast`), until an `end` collects it.
    package var last: String { directory + "/last.json" }
    /// The holder's stdout and stderr.
    package var log: String { directory + "/holder.log" }
    /// Reports a holder could not store (the platform may still have had the state directory frozen).
    package var pending: String { directory + "/pending" }

    /// Creates the directory (0700).
    package func create() throws {
        try FileSystem.makeDirectory(directory, mode: 0o700)
    }

    /// Keeps the holder log bounded: past 1 MiB it becomes `holder.log.1` (replacing the older one).
    package func rotateLog() {
        guard let size = (try? FileStatus.of(log, followingSymlinks: false))?.size, size > 1 << 20 else { return }
        try? FileSystem.rename(log, to: log + ".1")
    }

    /// Writes `value` as JSON to `path` atomically (0600).
    package func save<T: Encodable>(_ value: T, to path: String) throws {
        try create()
        try FileSystem.writeAtomically(Array(JSONOutput.encode(value).utf8) + [0x0A], to: path)
    }

    /// Reads the JSON document at `path`; nil when absent or unreadable.
    package func load<T: Decodable>(_ type: T.Type, from path: String) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
