import Foundation
import SnapSystem

/// Builds the plugin of each plan entry by its type.
package enum PluginFactory {
    /// The plugin for `spec` (a database plugin's reports redacted: see `RedactedPlugin`).
    package static func make(_ spec: PluginSpec, launcher: any ProcessLauncher) -> any Plugin {
        switch spec.kind {
        case .script: return ScriptPlugin(spec: spec, launcher: launcher)
        case .mysql: return RedactedPlugin(inner: MySQLPlugin(spec: spec))
        case .postgres: return RedactedPlugin(inner: PostgresPlugin(spec: spec))
        }
    }
}
