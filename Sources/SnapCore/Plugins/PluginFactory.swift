import Foundation
import SnapSystem

/// Builds the plugin of each plan entry by its type.
package enum PluginFactory {
    /// The plugin for `spec`.
    package static func make(_ spec: PluginSpec, launcher: any ProcessLauncher) -> any Plugin {
        switch spec.kind {
        case .script: return ScriptPlugin(spec: spec, launcher: launcher)
        case .mysql: return MySQLPlugin(spec: spec)
        case .postgres: return PostgresPlugin(spec: spec)
        }
    }
}
