import Foundation
import SnapSystem

/// Reads the original extension's configuration files with their documented meaning (reference
/// §3, §6.1, §8.7) when no `prepost.yaml` exists:
/// `/etc/azure/VMSnapshotPluginHost.conf` + the plugin JSON files, `/etc/azure/vmbackup.conf`,
/// `/etc/azure/workload.conf`.
///
/// Where the original silently downgrades to a plain backup (a missing or unreadable plugin
/// config), this says so with a warning that `validate` and the run report show.
package struct LegacyConfig: Sendable {
    let paths: Paths

    package init(paths: Paths) { self.paths = paths }

    package var hostConfPath: String { paths.resolve("/etc/azure/VMSnapshotPluginHost.conf") }
    package var vmbackupConfPath: String { paths.resolve("/etc/azure/vmbackup.conf") }
    package var workloadConfPath: String { paths.resolve("/etc/azure/workload.conf") }
    package var defaultPluginConfigPath: String { paths.resolve("/etc/azure/VMSnapshotScriptPluginConfig.json") }

    /// True when any legacy file exists.
    package var present: Bool {
        [hostConfPath, vmbackupConfPath, workloadConfPath, defaultPluginConfigPath].contains {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    /// The maximum plugin-host timeout of the original (seconds); YAML configs may go beyond it.
    package static let hostTimeoutCap = 1800

    /// Builds the equivalent `Config`; diagnostics explain every decision.
    package func load() -> (config: Config, diagnostics: [Diagnostic]) {
        var config = Config()
        config.source = hostConfPath
        config.snapshot.provider = .blob
        var out: [Diagnostic] = []
        readVMBackup(into: &config, &out)
        readPluginHost(into: &config, &out)
        readWorkload(into: &config, &out)
        return (config, out)
    }

    private func readVMBackup(into config: inout Config, _ out: inout [Diagnostic]) {
        guard let text = try? String(contentsOfFile: vmbackupConfPath, encoding: .utf8),
            trusted(vmbackupConfPath, &out)
        else { return }
        let ini = IniFile(text: text)
        let file = vmbackupConfPath
        if let (value, line) = ini.value("SnapshotThread", "timeout") {
            if let seconds = Int(value), seconds >= 1, seconds <= 600 {
                config.freeze.timeout = .seconds(seconds)
                out.append(
                    Diagnostic(
                        .note, "timeout = \(seconds): the freeze guard thaws after \(seconds)s", file: file,
                        at: SourceMark(line: line, column: 1)))
            } else {
                out.append(
                    Diagnostic(
                        .error, "[SnapshotThread] timeout must be 1..600 seconds, found '\(value)'", file: file,
                        at: SourceMark(line: line, column: 1)))
            }
        }
        if let (value, line) = ini.value("SnapshotThread", "MountsToSkip"), !value.isEmpty {
            let mounts = value.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            config.freeze.exclude += mounts
            out.append(
                Diagnostic(
                    .note,
                    "MountsToSkip: never freeze \(mounts.joined(separator: ", ")) (globs accepted, spaces trimmed)",
                    file: file, at: SourceMark(line: line, column: 1)))
        }
        if let (value, line) = ini.value("SnapshotThread", "fsfreeze") {
            if ["false", "0", "no", "off"].contains(value.lowercased()) {
                config.freeze.enabled = false
                out.append(
                    Diagnostic(
                        .warning,
                        "fsfreeze = \(value): filesystems are not frozen; snapshots are crash-consistent at best",
                        file: file, at: SourceMark(line: line, column: 1)))
            }
        }
        if let (value, line) = ini.value("SnapshotThread", "expedite_rcu"),
            ["false", "0", "no", "off"].contains(value.lowercased())
        {
            // Our own key (the original has no such knob): the opt-out of `freeze.expedite_rcu`.
            config.freeze.expediteRCU = false
            out.append(
                Diagnostic(
                    .note, "expedite_rcu = \(value): /sys/kernel/rcu_expedited is never touched (slower FIFREEZE)",
                    file: file, at: SourceMark(line: line, column: 1)))
        }
        if let (value, line) = ini.value("SnapshotThread", "seqsnapshot"), value != "0" {
            out.append(
                Diagnostic(
                    .note,
                    "seqsnapshot = \(value) is ignored: disks are always snapshotted in parallel, bounded by the freeze deadline",
                    file: file, at: SourceMark(line: line, column: 1)))
        }
        if let (value, line) = ini.value("SnapshotThread", "SnapshotMethod"), !value.isEmpty {
            if let method = SnapshotMethod(rawValue: value) {
                config.snapshot.method = method
                out.append(
                    Diagnostic(
                        .note, "SnapshotMethod = \(value) overrides the backup service's choice", file: file,
                        at: SourceMark(line: line, column: 1)))
            } else {
                out.append(
                    Diagnostic(
                        .error,
                        "SnapshotMethod '\(value)' is not one of \(SnapshotMethod.allCases.map(\.rawValue).joined(separator: ", "))",
                        file: file, at: SourceMark(line: line, column: 1)))
            }
        }
    }

    private func readPluginHost(into config: inout Config, _ out: inout [Diagnostic]) {
        let file = hostConfPath
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            out.append(
                Diagnostic(
                    .warning,
                    "no plugin host config (313 FailedPrepostPluginhostConfigNotFound): no pre/post scripts run; backups are filesystem-consistent",
                    file: file, code: .prepostPluginhostConfigNotFound))
            return
        }
        if let (problem, isOwner) = legacyModeProblem(file, ownerDigitMustBeEven: false) {
            // The original reports 314 for both; the distinct ownership code it defines (315) is used here.
            let code: ErrorCode =
                isOwner ? .prepostPluginhostConfigOwnershipError : .prepostPluginhostConfigPermissionError
            out.append(
                Diagnostic(
                    .error, "\(code.rawValue) \(code.name): \(problem); its plugins are not run", file: file,
                    code: code))
            return
        }
        let ini = IniFile(text: text)
        for line in ini.malformedLines {
            out.append(
                Diagnostic(
                    .error, "304 FailedPrepostPluginhostConfigParsing: not a 'key: value' line", file: file,
                    at: SourceMark(line: line, column: 1), code: .prepostPluginhostConfigParsing))
        }
        var hostTimeout = Self.hostTimeoutCap
        if let (value, line) = ini.value("pre_post", "timeoutInSeconds") {
            if let n = Int(value), n > 0 {
                hostTimeout = min(n, Self.hostTimeoutCap)
            } else {
                out.append(
                    Diagnostic(
                        .error, "timeoutInSeconds must be a positive number, found '\(value)'", file: file,
                        at: SourceMark(line: line, column: 1)))
            }
        }
        config.preTimeout = .seconds(hostTimeout)
        config.postTimeout = .seconds(hostTimeout)
        guard let (countText, countLine) = ini.value("pre_post", "numberOfPlugins"), let count = Int(countText),
            count >= 0
        else {
            out.append(
                Diagnostic(
                    .error,
                    "304 FailedPrepostPluginhostConfigParsing: [pre_post] numberOfPlugins is missing or not a number",
                    file: file, code: .prepostPluginhostConfigParsing))
            return
        }
        var names = Set<String>()
        for i in 0..<min(count, 32) {
            guard let (configPath, _) = ini.value("pre_post", "pluginConfigPath\(i)") else {
                out.append(
                    Diagnostic(
                        .error,
                        "304 FailedPrepostPluginhostConfigParsing: pluginConfigPath\(i) is missing (numberOfPlugins is \(count))",
                        file: file, at: SourceMark(line: countLine, column: 1), code: .prepostPluginhostConfigParsing))
                continue
            }
            let hostName = ini.value("pre_post", "pluginName\(i)")?.value ?? "plugin\(i)"
            guard var spec = readPlugin(paths.resolve(configPath), hostName: hostName, hostTimeout: hostTimeout, &out)
            else { continue }
            while names.contains(spec.name) { spec.name += "-\(i)" }
            names.insert(spec.name)
            if spec.runWithShell && !spec.legacyFreezeEnabled {
                config.freeze.enabled = false
            }
            config.plugins.append(spec)
        }
        if !config.freeze.enabled {
            // Without a freeze, the original aborts the backup on any script failure.
            for i in config.plugins.indices { config.plugins[i].onFailure = .abort }
        }
    }

    private func readPlugin(_ file: String, hostName: String, hostTimeout: Int, _ out: inout [Diagnostic])
        -> PluginSpec?
    {
        guard FileManager.default.fileExists(atPath: file) else {
            out.append(
                Diagnostic(
                    .warning,
                    "316 FailedPrepostPluginConfigNotFound: plugin '\(hostName)' has no config; it is not run (the original downgrades silently)",
                    file: file, code: .prepostPluginConfigNotFound))
            return nil
        }
        if let (problem, isOwner) = legacyModeProblem(file, ownerDigitMustBeEven: true) {
            let code: ErrorCode = isOwner ? .prepostPluginConfigOwnershipError : .prepostPluginConfigPermissionError
            out.append(
                Diagnostic(
                    .error, "\(code.rawValue) \(code.name): \(problem) (chmod 600, chown root)", file: file,
                    code: code))
            return nil
        }
        guard let data = FileManager.default.contents(atPath: file),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            out.append(
                Diagnostic(
                    .error, "305 FailedPrepostPluginConfigParsing: not a JSON object", file: file,
                    code: .prepostPluginConfigParsing))
            return nil
        }
        guard let pre = json["preScriptLocation"] as? String, let post = json["postScriptLocation"] as? String else {
            out.append(
                Diagnostic(
                    .error,
                    "305 FailedPrepostPluginConfigParsing: preScriptLocation and postScriptLocation are required",
                    file: file, code: .prepostPluginConfigParsing))
            return nil
        }
        var spec = PluginSpec(name: (json["pluginName"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? hostName)
        spec.name = String(spec.name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
        spec.pre = pre.isEmpty ? nil : paths.resolve(pre)
        spec.post = post.isEmpty ? nil : paths.resolve(post)
        spec.args = (json["preScriptParams"] as? [Any] ?? []).map { "\($0)" }
        spec.postArgs = (json["postScriptParams"] as? [Any] ?? []).map { "\($0)" }
        spec.retries = min(max((json["preScriptNoOfRetries"] as? NSNumber)?.intValue ?? 0, 0), 10)
        let timeout = (json["timeoutInSeconds"] as? NSNumber)?.intValue ?? 10
        spec.timeout = .seconds(max(1, min(timeout, hostTimeout)))
        spec.onFailure = (json["continueBackupOnFailure"] as? Bool) ?? true ? .continue : .abort
        spec.legacyFreezeEnabled = (json["fsFreezeEnabled"] as? Bool) ?? true
        spec.runWithShell = true
        out.append(
            Diagnostic(
                .note,
                "plugin '\(spec.name)': pre \(pre) \(spec.args), post \(post) \(spec.postArgs ?? []), timeout \(spec.timeout), retries \(spec.retries) (really re-run), on_failure \(spec.onFailure.rawValue), fsFreezeEnabled \(spec.legacyFreezeEnabled)",
                file: file))
        return spec
    }

    /// `workload.conf` → a built-in database plugin, run before the script plugins (the original
    /// skipped the scripts when a workload was set; both run here, the database first).
    private func readWorkload(into config: inout Config, _ out: inout [Diagnostic]) {
        guard let text = try? String(contentsOfFile: workloadConfPath, encoding: .utf8),
            trusted(workloadConfPath, &out)
        else { return }
        let ini = IniFile(text: text)
        guard let (name, line) = ini.value("workload", "workload_name"), !name.isEmpty else { return }
        let mark = SourceMark(line: line, column: 1)
        let file = workloadConfPath
        var spec: PluginSpec
        switch name.lowercased() {
        case "mysql", "mariadb":
            spec = PluginSpec(name: name.lowercased(), kind: .mysql)
            let cred = ini.value("workload", "credString")?.value ?? ""
            guard let range = cred.range(of: "--defaults-extra-file=") else {
                out.append(
                    Diagnostic(
                        .error,
                        "505 FailedWorkloadAuthorizationMissing: credString must be --defaults-extra-file=FILE (root-owned, 0600); passwords on a command line are refused",
                        file: file, at: mark, code: .workloadAuthorizationMissing))
                return
            }
            let path = cred[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            spec.database.defaultsFile = paths.resolve(path)
        case "postgres", "postgresql":
            spec = PluginSpec(name: "postgres", kind: .postgres)
            let osUser = ini.value("workload", "linux_user")?.value.nilIfEmpty ?? "postgres"
            guard DatabaseOptionsDecoder.isUnixUserName(osUser) else {
                out.append(
                    Diagnostic(
                        .error,
                        "linux_user = \(osUser) is not a Unix user name (like postgres): "
                            + "the workload is not quiesced",
                        file: file, at: mark))
                return
            }
            spec.database.osUser = osUser
            spec.database.postgresMode = .checkpoint
        default:
            out.append(
                Diagnostic(
                    .warning,
                    "503 FailedWorkloadInvalidWorkloadName: workload_name = \(name) is not supported (mysql, mariadb, postgres); the workload is not quiesced",
                    file: file, at: mark, code: .workloadInvalidWorkloadName))
            return
        }
        if let (value, _) = ini.value("workload", "timeout"), let seconds = Int(value), seconds > 0 {
            spec.timeout = .seconds(min(seconds, 3600))
        }
        spec.onFailure = .continue
        config.plugins.insert(spec, at: 0)
        out.append(
            Diagnostic(
                .note,
                "workload_name = \(name): the built-in \(spec.kind.rawValue) plugin quiesces it (\(spec.database.pairs.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))",
                file: file, at: mark))
    }

    /// The plugin-host rule for `vmbackup.conf` and `workload.conf` (owner root, group and others may
    /// only read): a file someone else can write is not obeyed — it could turn the freeze off or
    /// point the database plugin elsewhere. False (with the error recorded) when it breaks the rule.
    private func trusted(_ file: String, _ out: inout [Diagnostic]) -> Bool {
        guard let (problem, _) = legacyModeProblem(file, ownerDigitMustBeEven: false) else { return true }
        out.append(
            Diagnostic(
                .error, "\(problem): its settings are ignored (chown root, chmod go-w)", file: file))
        return false
    }

    /// The original's mode rule on the last three octal digits (plus owner root).
    /// What breaks the rule, and whether it is the owner (rather than the mode).
    func legacyModeProblem(_ path: String, ownerDigitMustBeEven: Bool) -> (String, isOwner: Bool)? {
        let status: FileStatus
        do {
            status = try FileStatus.of(path)
        } catch {
            return (error.reason, false)
        }
        let mode = Int(status.permissions & 0o777)
        let owner = mode >> 6, group = (mode >> 3) & 7, other = mode & 7
        if status.ownerID != 0 { return ("owned by uid \(status.ownerID), not root", true) }
        if ownerDigitMustBeEven {
            if owner % 2 != 0 || group != 0 || other != 0 {
                return ("mode \(String(mode, radix: 8)) (must be 600, 400 or 200)", false)
            }
        } else if ![0, 4].contains(group) || ![0, 4].contains(other) {
            return ("mode \(String(mode, radix: 8)) (group and others may only read)", false)
        }
        return nil
    }
}
