import Foundation
import SnapSystem

/// The outcome of `snaporch validate`: every finding about the config, its scripts and the machine.
package struct ValidationReport: Sendable, Codable {
    /// The config file checked.
    package var config: String
    /// True when no finding is an error.
    package var valid: Bool
    /// Every finding, errors first.
    package var diagnostics: [Diagnostic]
    /// The plugins that would run, in pre order (listed, then drop-ins).
    package var plugins: [String]
    /// Files of `scripts_dir` that are not run, with the reason.
    package var skippedDropIns: [DropInScanner.Skipped]
}

/// Runs every check an admin needs before the first backup.
package struct Validator: Sendable {
    /// The path rule applied to the config and every script.
    package var security = PathSecurity()
    /// Where to look for client programs (`mysql`, `psql`).
    package var searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    /// The mount table text (default: `/proc/self/mountinfo`).
    package var mountInfo: @Sendable () -> String = { MountTable.readText() }

    /// Resolves script paths (`SNAPORCH_ROOT`).
    package var paths = Paths()
    /// Connect to the databases of `mysql`/`postgres` plugins to check credentials and privileges.
    package var probeDatabases = true
    /// Hard upper bound on the mounts selected (`SNAPORCH_FREEZE_ALLOW`, as for `run`).
    package var allowList: [String]? = ProcessInfo.processInfo.environment["SNAPORCH_FREEZE_ALLOW"].map {
        $0.split(separator: ":").map(String.init)
    }

    /// Creates a validator with the real machine's view.
    package init() {}

    /// Loads and checks the config at `path`.
    package func validate(configAt path: String) -> (ValidationReport, Config?) {
        var (config, diagnostics) = ConfigLoader(paths: paths).load(path)
        var plugins: [String] = []
        var skipped: [DropInScanner.Skipped] = []
        if var config {
            let found = checks(&config, file: path)
            diagnostics += found.diagnostics
            skipped = found.skipped
            plugins = config.plugins.map(\.name)
        }
        diagnostics.sort { $0.severity < $1.severity }
        let report = ValidationReport(
            config: path, valid: !diagnostics.hasErrors, diagnostics: diagnostics, plugins: plugins,
            skippedDropIns: skipped)
        return (report, diagnostics.hasErrors ? nil : config)
    }

    /// Checks the legacy VMSnapshot files: how they were understood, then the same script checks.
    package func validateLegacy(_ legacy: LegacyConfig) -> (ValidationReport, Config?) {
        var (config, diagnostics) = legacy.load()
        diagnostics.insert(
            Diagnostic(.note, "no \(paths.defaultConfig): reading the legacy VMSnapshot configuration"), at: 0)
        let found = checks(&config, file: legacy.hostConfPath)
        diagnostics += found.diagnostics
        let report = ValidationReport(
            config: legacy.hostConfPath, valid: !diagnostics.hasErrors, diagnostics: diagnostics,
            plugins: config.plugins.map(\.name), skippedDropIns: found.skipped)
        return (report, config)
    }

    /// Checks scripts, drop-ins, mounts and prerequisites, appending drop-in plugins to `config`.
    func checks(_ config: inout Config, file: String) -> (diagnostics: [Diagnostic], skipped: [DropInScanner.Skipped]) {
        var out: [Diagnostic] = []
        let frozen = config.freeze.enabled ? freezeSelection(config, file: file, into: &out) : nil
        for plugin in config.plugins {
            let mark = plugin.mark
            for (phase, script) in [("pre", plugin.pre), ("post", plugin.post)] {
                guard let script else { continue }
                let execProblems =
                    plugin.runWithShell
                    ? (FileManager.default.fileExists(atPath: script) ? [] : ["\(script) does not exist"])
                    : ExecutableCheck.problems(for: script)
                for problem in execProblems {
                    out.append(Diagnostic(.error, "plugin '\(plugin.name)' \(phase): \(problem)", file: file, at: mark))
                }
                if FileManager.default.fileExists(atPath: script) {
                    for problem in securityProblems(script, shell: plugin.runWithShell, execProblems: execProblems) {
                        out.append(
                            Diagnostic(
                                .error, "plugin '\(plugin.name)' \(phase) refused: \(problem)", file: file, at: mark))
                    }
                }
            }
            if plugin.kind != .script {
                let needed = plugin.kind == .mysql ? ["mariadb", "mysql"] : ["psql"]
                if needed.allSatisfy({ which($0) == nil }) {
                    out.append(
                        Diagnostic(
                            .error,
                            "plugin '\(plugin.name)' needs the \(needed.joined(separator: " or ")) client, found none in PATH",
                            file: file, at: mark))
                } else if probeDatabases {
                    for finding in DatabaseProbe.check(plugin, frozen: frozen) {
                        out.append(
                            Diagnostic(
                                finding.severity, "plugin '\(plugin.name)': \(finding.message)", file: file, at: mark))
                    }
                }
            }
        }
        var skipped: [DropInScanner.Skipped] = []
        if let dir = config.scriptsDir {
            let scan = DropInScanner().scan(dir)
            if let error = scan.error { out.append(Diagnostic(.error, error, file: file)) }
            skipped = scan.skipped
            for item in scan.skipped {
                out.append(Diagnostic(.note, "drop-in skipped: \(item.reason)", file: item.path))
            }
            let names = Set(config.plugins.map(\.name))
            for script in scan.scripts {
                let base = String(script.split(separator: "/").last ?? "")
                let name = names.contains(base) ? "dropin:\(base)" : base
                let execProblems = ExecutableCheck.problems(for: script)
                let problems = execProblems + securityProblems(script, shell: false, execProblems: execProblems)
                for problem in problems {
                    out.append(Diagnostic(.error, "drop-in refused: \(problem)", file: script))
                }
                var spec = PluginSpec(name: name)
                spec.pre = script
                spec.post = script
                spec.isDropIn = true
                config.plugins.append(spec)
            }
        }
        return (out, skipped)
    }

    /// The path rule for a script: its path, and the interpreter chain that runs it — `/bin/sh` for
    /// a legacy plugin, else its own `#!` chain (when exec would find it at all).
    func securityProblems(_ script: String, shell: Bool, execProblems: [String]) -> [String] {
        if shell { return security.problems(for: script) + security.executableProblems(for: "/bin/sh") }
        return execProblems.isEmpty ? security.executableProblems(for: script) : security.problems(for: script)
    }

    /// The mounts the config would freeze (nil when none can be chosen), with findings about them;
    /// a listed mount that is not one is an error at its position in the config.
    func freezeSelection(_ config: Config, file: String, into out: inout [Diagnostic]) -> [String]? {
        let entries = MountInfoParser.parse(mountInfo()).entries
        let selector = MountSelector(
            explicit: config.freeze.mounts, exclude: config.freeze.exclude, allowList: allowList)
        let (chosen, skipped, errors) = selector.select(from: entries)
        for error in errors {
            let severity: Diagnostic.Severity = config.freeze.mounts.isEmpty ? .note : .error
            let index = config.freeze.mounts.firstIndex { error.hasPrefix($0 + " ") }
            let mark = index.flatMap { $0 < config.freeze.mountMarks.count ? config.freeze.mountMarks[$0] : nil }
            out.append(Diagnostic(severity, "freeze.mounts: \(error)", file: file, at: mark))
        }
        if !chosen.isEmpty {
            let list = chosen.map { "\($0.mountPoint) (\($0.fsType))" }.joined(separator: ", ")
            out.append(Diagnostic(.note, "would freeze, in this order: \(list)", file: file))
        }
        for skip in skipped {
            out.append(
                Diagnostic(.note, "would not freeze \(skip.mountPoint) (\(skip.fsType)): \(skip.reason)", file: file))
        }
        return chosen.isEmpty ? nil : chosen.map(\.mountPoint)
    }

    /// The first executable named `program` on the search path.
    func which(_ program: String) -> String? {
        for dir in searchPath.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileSystem.isExecutable(candidate) { return candidate }
        }
        return nil
    }
}
