import Foundation
import SnapSystem

/// Finds the configuration: an explicit `--config` file, else `prepost.yaml`, else the original
/// extension's legacy files (with their documented meaning), else nothing.
package struct ConfigSource: Sendable {
    let paths: Paths

    package init(paths: Paths) { self.paths = paths }

    /// Where the config came from.
    package enum Kind: String, Sendable { case yaml, legacy, none }

    /// Loads the config; `defaultWhenAbsent` returns a default config (no plugins) instead of an
    /// error when nothing exists — what the handler does, like the original.
    package func load(explicit: String?, defaultWhenAbsent: Bool = false) -> (
        config: Config?, diagnostics: [Diagnostic]
    ) {
        let (config, diagnostics, _) = loadWithKind(explicit: explicit, defaultWhenAbsent: defaultWhenAbsent)
        return (config, diagnostics)
    }

    /// `load` plus which source was used.
    package func loadWithKind(explicit: String?, defaultWhenAbsent: Bool = false) -> (Config?, [Diagnostic], Kind) {
        if let explicit {
            let (config, diagnostics) = ConfigLoader(paths: paths).load(explicit)
            return (config, diagnostics, .yaml)
        }
        let yaml = paths.defaultConfig
        if FileManager.default.fileExists(atPath: yaml) {
            let (config, diagnostics) = ConfigLoader(paths: paths).load(yaml)
            return (config, diagnostics, .yaml)
        }
        let legacy = LegacyConfig(paths: paths)
        if legacy.present {
            var (config, diagnostics) = legacy.load()
            config.source = legacy.hostConfPath
            let note = Diagnostic(.note, "no \(yaml): reading the legacy VMSnapshot configuration files")
            return (config, [note] + diagnostics, .legacy)
        }
        if defaultWhenAbsent {
            var config = Config()
            config.source = "(defaults)"
            return (
                config,
                [
                    Diagnostic(
                        .warning, "no \(yaml) and no legacy config: no plugins run; backups are filesystem-consistent")
                ], .none
            )
        }
        return (nil, [Diagnostic(.error, "no such file", file: yaml)], .none)
    }
}
