import Foundation
import SnapSystem

/// Writes a `Config` as `prepost.yaml` text (`validate --emit-yaml` turns legacy files into YAML).
package enum ConfigYAMLWriter {
    /// The YAML text of `config`.
    package static func yaml(_ config: Config, header: String? = nil) -> String {
        var lines: [String] = []
        if let header { lines += header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" } }
        lines.append("version: 1")
        lines.append("freeze:")
        lines.append("  enabled: \(config.freeze.enabled)")
        lines.append("  timeout: \(config.freeze.timeout)")
        lines.append("  mounts: \(list(config.freeze.mounts))")
        lines.append("  exclude: \(list(config.freeze.exclude))")
        lines.append("  expedite_rcu: \(config.freeze.expediteRCU)")
        lines.append("  sync_timeout: \(config.freeze.syncTimeout)")
        lines.append("snapshot:")
        lines.append("  provider: \(config.snapshot.provider.rawValue)")
        if let method = config.snapshot.method { lines.append("  method: \(method.rawValue)") }
        if !config.snapshot.command.isEmpty { lines.append("  command: \(list(config.snapshot.command))") }
        lines.append("  timeout: \(config.snapshot.timeout)")
        if let t = config.preTimeout { lines.append("pre_timeout: \(t)") }
        if let t = config.postTimeout { lines.append("post_timeout: \(t)") }
        lines.append("kill_grace: \(config.killGrace)")
        if config.split != SplitSettings() { lines += ["split:", "  lease: \(config.split.lease)"] }
        if let dir = config.scriptsDir { lines.append("scripts_dir: \(quote(dir))") }
        if config.plugins.isEmpty {
            lines.append("plugins: []")
        } else {
            lines.append("plugins:")
            for plugin in config.plugins where !plugin.isDropIn {
                lines.append("  - name: \(quote(plugin.name))")
                lines.append("    type: \(plugin.kind.rawValue)")
                if plugin.runWithShell {
                    lines.append(
                        "    # the legacy framework ran these with /bin/sh: give them a #!/bin/sh line and chmod 0700")
                }
                if let pre = plugin.pre { lines.append("    pre: \(quote(pre))") }
                if let post = plugin.post { lines.append("    post: \(quote(post))") }
                if !plugin.args.isEmpty { lines.append("    args: \(list(plugin.args))") }
                if let postArgs = plugin.postArgs, postArgs != plugin.args, !postArgs.isEmpty {
                    lines.append(
                        "    # post arguments of the legacy config were \(list(postArgs)); YAML plugins share one args list"
                    )
                }
                lines.append("    timeout: \(plugin.timeout)")
                lines.append("    retries: \(plugin.retries)")
                lines.append("    on_failure: \(plugin.onFailure.rawValue)")
                for (key, value) in plugin.database.pairs {
                    lines.append("    \(key): \(quote(value))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func list(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ", ") + "]" }

    /// Double-quotes a scalar when plain YAML could misread it.
    static func quote(_ text: String) -> String {
        let plainSafe =
            !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "/._-".contains($0) }
            && !["true", "false", "yes", "no", "on", "off", "null", "~"].contains(text.lowercased())
            && !text.first!.isNumber
        if plainSafe { return text }
        return "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }
}
