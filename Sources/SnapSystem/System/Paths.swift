import Foundation

/// Resolves every system path the agent touches under `SNAPORCH_ROOT` (default `/`).
///
/// Tests, demos and the benchmark set `SNAPORCH_ROOT` to a private tree; nothing else changes.
package struct Paths: Sendable, Hashable {
    /// The `PATH` every step gets (where an `env` interpreter line looks).
    package static let scriptSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The root all system paths are resolved under.
    package var root: String

    /// Creates the resolver from the environment.
    package init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let value = environment["SNAPORCH_ROOT"] ?? "/"
        self.root = value.isEmpty ? "/" : value
    }

    /// Creates the resolver for an explicit root.
    package init(root: String) { self.root = root }

    /// `path` (absolute) resolved under the root; a path already inside the root is kept as is.
    package func resolve(_ path: String) -> String {
        if root == "/" { return path }
        let trimmed = root.hasSuffix("/") ? String(root.dropLast()) : root
        if path == trimmed || path.hasPrefix(trimmed + "/") { return path }
        return trimmed + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// The default YAML config.
    package var defaultConfig: String { resolve("/etc/azure/prepost/prepost.yaml") }
    /// Runtime state: lock, journal (on tmpfs on real systems, never on a snapshotted disk).
    package var runDir: String { resolve("/run/snaporch") }
    /// Persistent state: last report, history.
    package var stateDir: String { resolve("/var/lib/snaporch") }
    /// Log directory.
    package var logDir: String { resolve("/var/log/snaporch") }
}
