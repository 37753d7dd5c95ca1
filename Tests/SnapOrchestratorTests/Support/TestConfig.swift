import Foundation

/// A `prepost.yaml` built from typed pieces (test set-up), written the way an admin writes one:
/// `version`, top-level options, `freeze`, `snapshot`, then `plugins`, one key a line, values plain.
///
/// The layout is fixed, so a diagnostic's line is predictable: with `freeze: .off` and
/// `snapshot: .none` the first plugin entry is line 7; with a freeze timeout and mounts and a
/// snapshot command with a timeout it is line 10.
struct TestConfig {
    /// The `freeze:` section.
    enum Freeze {
        /// No `freeze:` section: the defaults apply.
        case absent
        /// `enabled: false`.
        case off
        /// A real freeze with the guard's `timeout` (`"5s"`), of exactly `mounts` when not empty
        /// (tests may also name them with `--mount`).
        case on(timeout: String, mounts: [String] = [])
    }

    /// The `snapshot:` section.
    enum Snapshot {
        /// No `snapshot:` section: the defaults apply.
        case absent
        /// `provider: none`.
        case none
        /// `provider: command` running `argv`, each call bounded by `timeout` when given.
        case command([String], timeout: String? = nil)
        /// `provider: blob` (the disks come from `--disk` or the handler settings).
        case blob(timeout: String? = nil)
        /// `provider: host` (the wire server's snapshot endpoint).
        case host(timeout: String? = nil)
    }

    /// The `freeze:` section.
    var freeze: Freeze
    /// The `snapshot:` section.
    var snapshot: Snapshot
    /// Top-level keys other than the sections (`kill_grace`, `scripts_dir`), in order, before `freeze:`.
    var options: [(key: String, value: String)]
    /// The plugin entries, in order.
    var plugins: [TestPlugin]

    init(
        freeze: Freeze = .off, snapshot: Snapshot = .none,
        options: KeyValuePairs<String, String> = [:], plugins: [TestPlugin]
    ) {
        self.freeze = freeze
        self.snapshot = snapshot
        self.options = options.map { (key: $0.key, value: $0.value) }
        self.plugins = plugins
    }

    /// The config's path in the tree when no `--config` is given.
    static let defaultPath = "etc/azure/prepost/prepost.yaml"

    /// The YAML text.
    var yaml: String {
        var lines = ["version: 1"]
        lines += options.map { "\($0.key): \($0.value)" }
        switch freeze {
        case .absent: break
        case .off: lines += ["freeze:", "  enabled: false"]
        case .on(let timeout, let mounts):
            lines += ["freeze:", "  timeout: \(timeout)"]
            if !mounts.isEmpty { lines.append("  mounts: \(Self.list(mounts))") }
        }
        let timeoutLine = { (timeout: String?) in timeout.map { ["  timeout: \($0)"] } ?? [] }
        switch snapshot {
        case .absent: break
        case .none: lines += ["snapshot:", "  provider: none"]
        case .command(let argv, let timeout):
            lines += ["snapshot:", "  provider: command", "  command: \(Self.list(argv))"] + timeoutLine(timeout)
        case .blob(let timeout): lines += ["snapshot:", "  provider: blob"] + timeoutLine(timeout)
        case .host(let timeout): lines += ["snapshot:", "  provider: host"] + timeoutLine(timeout)
        }
        if !plugins.isEmpty {
            lines.append("plugins:")
            lines += plugins.flatMap(\.yamlLines)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML flow list of plain scalars: `[a, b]`.
    static func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
}

extension TestTree {
    /// Writes `config` at `relative` (`c.yaml` unless told) and returns its absolute path.
    @discardableResult
    func write(_ config: TestConfig, at relative: String = "c.yaml") -> String {
        write(relative, config.yaml)
    }
}
