/// Builds the plugin of each plan entry by its type.
public enum PluginFactory {
    /// The plugin for `spec`.
    public static func make(_ spec: PluginSpec, launcher: any ProcessLauncher) -> any Plugin {
        switch spec.kind {
        case .script: return ScriptPlugin(spec: spec, launcher: launcher)
        case .mysql: return MySQLPlugin(spec: spec)
        case .postgres: return PostgresPlugin(spec: spec)
        }
    }
}
