import Foundation
import SnapSystem

/// Turns a YAML document into a `Config`, reporting every problem with its line and column.
package struct ConfigDecoder: Sendable {
    static let topKeys = [
        "version", "freeze", "snapshot", "plugins", "scripts_dir", "pre_timeout", "post_timeout",
        "kill_grace", "split",
    ]
    static let freezeKeys = ["enabled", "timeout", "mounts", "exclude", "expedite_rcu", "sync_timeout"]
    static let snapshotKeys = ["provider", "disks", "command", "timeout", "method"]
    static let splitKeys = ["lease"]
    static let commonPluginKeys = [
        "name", "type", "pre", "post", "hold", "release", "args", "timeout", "retries", "on_failure",
    ]
    static let mysqlKeys = ["defaults_file", "socket", "mode", "lock_wait_timeout", "replica"]
    static let postgresKeys = ["mode", "host", "port", "user", "database", "password_file", "os_user", "label_dir"]

    /// The file name used in diagnostics.
    package var file: String

    /// Creates a decoder whose diagnostics name `file`.
    package init(file: String) { self.file = file }

    /// Parses and decodes `bytes`. The config is nil when there are errors.
    package func decode(_ bytes: [UInt8]) -> (config: Config?, diagnostics: [Diagnostic]) {
        if bytes.isEmpty || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return (
                nil, [Diagnostic(.error, "the config file is empty (expected a mapping with 'version: 1')", file: file)]
            )
        }
        if bytes.contains(0) {
            return (
                nil, [Diagnostic(.error, "the config file contains NUL bytes: it is not a YAML text file", file: file)]
            )
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            return (
                nil,
                [Diagnostic(.error, "the config file is not valid UTF-8", file: file, at: Self.firstInvalidUTF8(bytes))]
            )
        }
        let root: YAMLNode?
        do {
            root = try YAMLParser().parse(bytes)
        } catch {
            return (nil, [Diagnostic(.error, error.message, file: file, at: error.mark)])
        }
        guard let root, !root.isNull else {
            return (
                nil,
                [
                    Diagnostic(
                        .error, "the config file holds no document (expected a mapping with 'version: 1')", file: file)
                ]
            )
        }
        return decode(root)
    }

    /// Decodes an already parsed document.
    package func decode(_ root: YAMLNode) -> (config: Config?, diagnostics: [Diagnostic]) {
        var reader = NodeReader(file: file)
        var config = Config()
        config.source = file
        guard let top = reader.mapping(root, path: "", allowed: Self.topKeys) else {
            return (nil, reader.diagnostics)
        }
        if let node = top["version"] {
            if let version = reader.int(node, key: "version", range: 0...Int.max), version != 1 {
                reader.error("unsupported config version \(version) (this snaporch understands version 1)", at: node)
            }
        } else {
            reader.error("missing required key 'version' (add 'version: 1' at the top)", at: root)
        }
        if let node = top["freeze"] { decodeFreeze(node, into: &config.freeze, reader: &reader) }
        if let node = top["snapshot"] { decodeSnapshot(node, into: &config.snapshot, reader: &reader) }
        if let node = top["split"] { decodeSplit(node, into: &config.split, reader: &reader) }
        if let node = top["scripts_dir"], !node.isNull, let dir = reader.string(node, key: "scripts_dir") {
            if dir.hasPrefix("/") {
                config.scriptsDir = dir
            } else {
                reader.error("'scripts_dir' must be an absolute path, found '\(dir)'", at: node)
            }
        }
        if let node = top["pre_timeout"] {
            config.preTimeout = reader.duration(node, key: "pre_timeout", nonZero: true)
        }
        if let node = top["post_timeout"] {
            config.postTimeout = reader.duration(node, key: "post_timeout", nonZero: true)
        }
        if let node = top["kill_grace"], let grace = reader.duration(node, key: "kill_grace", max: .seconds(60)) {
            config.killGrace = grace
        }
        if let node = top["plugins"], !node.isNull {
            if case .sequence(let items) = node.kind {
                var seen: [String: SourceMark] = [:]
                for item in items {
                    guard let plugin = decodePlugin(item, reader: &reader) else { continue }
                    if let first = seen[plugin.name] {
                        reader.error(
                            "duplicate plugin name '\(plugin.name)' (first used at line \(first.line))", at: item)
                        continue
                    }
                    seen[plugin.name] = item.mark
                    config.plugins.append(plugin)
                }
            } else {
                reader.error("'plugins' must be a list of plugin mappings, found \(node.shapeName)", at: node)
            }
        }
        if config.freeze.enabled, config.snapshot.provider != .none, config.snapshot.timeout >= config.freeze.timeout,
            let node = top["snapshot"]
        {
            reader.warning(
                "snapshot.timeout (\(config.snapshot.timeout)) is not below freeze.timeout (\(config.freeze.timeout)): "
                    + "snapshot calls are cut at the freeze deadline", at: node)
        }
        return (reader.diagnostics.hasErrors ? nil : config, reader.diagnostics)
    }

    private func decodeFreeze(_ node: YAMLNode, into freeze: inout FreezeSettings, reader: inout NodeReader) {
        guard let map = reader.mapping(node, path: "freeze", allowed: Self.freezeKeys) else { return }
        if let n = map["enabled"], let v = reader.bool(n, key: "freeze.enabled") { freeze.enabled = v }
        if let n = map["timeout"], let v = reader.duration(n, key: "freeze.timeout", max: .seconds(600)) {
            if v.milliseconds < 100 {
                reader.error("'freeze.timeout' must be at least 100ms, found \(v)", at: n)
            } else {
                freeze.timeout = v
            }
        }
        if let n = map["mounts"], let v = reader.strings(n, key: "freeze.mounts") {
            var items = [YAMLNode](repeating: n, count: v.count)
            if case .sequence(let nodes) = n.kind, nodes.count == v.count { items = nodes }
            for (mount, item) in zip(v, items) where !mount.hasPrefix("/") {
                reader.error("'freeze.mounts' entries must be absolute paths, found '\(mount)'", at: item)
            }
            freeze.mounts = v
            freeze.mountMarks = items.map(\.mark)
        }
        if let n = map["exclude"], let v = reader.strings(n, key: "freeze.exclude") { freeze.exclude = v }
        if let n = map["expedite_rcu"], let v = reader.bool(n, key: "freeze.expedite_rcu") { freeze.expediteRCU = v }
        if let n = map["sync_timeout"],
            let v = reader.duration(n, key: "freeze.sync_timeout", max: FreezeSettings.maxSyncTimeout)
        {
            if v.milliseconds < 1000 {
                reader.error("'freeze.sync_timeout' must be at least 1s, found \(v)", at: n)
            } else {
                freeze.syncTimeout = v
            }
        }
    }

    private func decodeSplit(_ node: YAMLNode, into split: inout SplitSettings, reader: inout NodeReader) {
        guard let map = reader.mapping(node, path: "split", allowed: Self.splitKeys) else { return }
        let range = SplitSettings.leaseRange
        if let n = map["lease"], let v = reader.duration(n, key: "split.lease", max: range.upperBound) {
            if v < range.lowerBound {
                reader.error("'split.lease' must be at least \(range.lowerBound), found \(v)", at: n)
            } else {
                split.lease = v
            }
        }
    }

    private func decodeSnapshot(_ node: YAMLNode, into snapshot: inout SnapshotSettings, reader: inout NodeReader) {
        guard let map = reader.mapping(node, path: "snapshot", allowed: Self.snapshotKeys) else { return }
        if let n = map["provider"],
            let v = reader.choice(n, key: "snapshot.provider", as: SnapshotSettings.Provider.self)
        {
            if v == .platform {
                reader.error(
                    "'snapshot.provider: platform' is what `snaporch begin` uses for the platform's own snapshot; "
                        + "a config cannot choose it (use blob, host, command or none)", at: n)
            } else {
                snapshot.provider = v
            }
        }
        if let n = map["disks"], let v = reader.strings(n, key: "snapshot.disks") {
            let disks = v.map(SASURI.init)
            for disk in disks where !disk.hasHTTPScheme {
                reader.error("'snapshot.disks' entries must be blob URIs (https://…), found '\(disk)'", at: n)
            }
            snapshot.disks = disks
        }
        if let n = map["command"], let v = reader.strings(n, key: "snapshot.command") { snapshot.command = v }
        if let n = map["timeout"],
            let v = reader.duration(n, key: "snapshot.timeout", max: .seconds(600), nonZero: true)
        {
            snapshot.timeout = v
        }
        if let n = map["method"], !n.isNull, let v = reader.choice(n, key: "snapshot.method", as: SnapshotMethod.self) {
            snapshot.method = v
            if snapshot.provider != .blob && snapshot.provider != .host {
                reader.error("'snapshot.method' applies to the blob and host providers only", at: n)
            }
        }
        if snapshot.provider == .command && snapshot.command.isEmpty {
            reader.error(
                "'snapshot.provider: command' needs 'snapshot.command' (an argv list)", at: map["provider"] ?? node)
        }
        if let first = snapshot.command.first, !first.hasPrefix("/"), let n = map["command"] {
            reader.error("'snapshot.command' must start with an absolute path, found '\(first)'", at: n)
        }
    }

    private func decodePlugin(_ node: YAMLNode, reader: inout NodeReader) -> PluginSpec? {
        let allKeys = Self.commonPluginKeys + Self.mysqlKeys + Self.postgresKeys.filter { !Self.mysqlKeys.contains($0) }
        guard let map = reader.mapping(node, path: "plugins[]", allowed: allKeys) else { return nil }
        var ok = true
        guard let nameNode = map["name"] else {
            reader.error("a plugin is missing the required key 'name'", at: node)
            return nil
        }
        guard let name = reader.string(nameNode, key: "name") else { return nil }
        if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            reader.error("plugin name '\(name)' may only use letters, digits, '.', '_' and '-'", at: nameNode)
            ok = false
        }
        var plugin = PluginSpec(name: name)
        plugin.mark = node.mark
        if let n = map["type"], let kind = reader.choice(n, key: "type", as: PluginSpec.Kind.self) {
            plugin.kind = kind
        }
        if !decodeSteps(map, into: &plugin, reader: &reader) { ok = false }
        if let n = map["args"], let v = reader.strings(n, key: "\(name).args") { plugin.args = v }
        if let n = map["timeout"],
            let v = reader.duration(n, key: "\(name).timeout", max: .seconds(3600), nonZero: true)
        {
            plugin.timeout = v
        }
        if let n = map["retries"], let v = reader.int(n, key: "\(name).retries", range: 0...10) { plugin.retries = v }
        if let n = map["on_failure"],
            let v = reader.choice(n, key: "\(name).on_failure", as: PluginSpec.FailurePolicy.self)
        {
            plugin.onFailure = v
        }
        let ownKeys: [String]
        switch plugin.kind {
        case .script:
            ownKeys = []
            if !checkScriptSteps(plugin, map, node, reader: &reader) { ok = false }
        case .mysql: ownKeys = Self.mysqlKeys
        case .postgres: ownKeys = Self.postgresKeys
        }
        if plugin.kind != .script {
            for key in ["pre", "hold", "release", "post", "args"] where map[key] != nil {
                reader.error(
                    "'\(key)' applies to script plugins only; '\(name)' is of type \(plugin.kind.rawValue)",
                    at: map[key]!)
                ok = false
            }
        }
        var own: [String: YAMLNode] = [:]
        for (key, value) in map where !Self.commonPluginKeys.contains(key) {
            guard ownKeys.contains(key) else {
                reader.error("'\(key)' does not apply to a plugin of type \(plugin.kind.rawValue)", at: value)
                ok = false
                continue
            }
            own[key] = value
        }
        if let options = DatabaseOptionsDecoder(plugin: name).decode(
            own, kind: plugin.kind, entry: node, reader: &reader)
        {
            plugin.database = options
        } else {
            ok = false
        }
        return ok ? plugin : nil
    }

    /// Reads the step executables (`pre`, `hold`, `release`, `post`): absolute paths.
    private func decodeSteps(_ map: [String: YAMLNode], into plugin: inout PluginSpec, reader: inout NodeReader) -> Bool
    {
        var ok = true
        for key in ["pre", "hold", "release", "post"] {
            guard let n = map[key], !n.isNull, let path = reader.string(n, key: "\(plugin.name).\(key)") else {
                continue
            }
            if !path.hasPrefix("/") {
                reader.error("plugin '\(plugin.name)': '\(key)' must be an absolute path, found '\(path)'", at: n)
                ok = false
            }
            switch key {
            case "pre": plugin.pre = path
            case "hold": plugin.hold = path
            case "release": plugin.release = path
            default: plugin.post = path
            }
        }
        return ok
    }

    /// A script plugin has at least one step, and a hold always comes with its release.
    private func checkScriptSteps(
        _ plugin: PluginSpec, _ map: [String: YAMLNode], _ node: YAMLNode, reader: inout NodeReader
    ) -> Bool {
        var ok = true
        if plugin.pre == nil && plugin.post == nil && plugin.hold == nil && plugin.release == nil {
            reader.error("script plugin '\(plugin.name)' needs 'pre', 'post' or both", at: node)
            ok = false
        }
        if (plugin.hold == nil) != (plugin.release == nil) {
            let (given, missing) = plugin.hold != nil ? ("hold", "release") : ("release", "hold")
            reader.error(
                "script plugin '\(plugin.name)' has '\(given)' but no '\(missing)': a hold (the pause right before the freeze) and its release (right after the thaw) go together",
                at: map[given] ?? node)
            ok = false
        }
        return ok
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> SourceMark {
        var line = 1, column = 1, index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length =
                byte < 0x80 ? 1 : byte >> 5 == 0b110 ? 2 : byte >> 4 == 0b1110 ? 3 : byte >> 3 == 0b11110 ? 4 : 0
            if length == 0 || index + length > bytes.count
                || String(validating: bytes[index..<index + length], as: UTF8.self) == nil
            {
                return SourceMark(line: line, column: column)
            }
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
            index += length
        }
        return SourceMark(line: line, column: column)
    }
}
