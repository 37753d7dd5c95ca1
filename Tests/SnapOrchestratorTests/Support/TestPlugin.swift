import Foundation

/// One entry of `plugins:` (a script, or a database plugin with its options).
struct TestPlugin {
    /// `name:`.
    var name: String
    /// `type:`; nil for a script plugin (the default type).
    var type: String?
    /// The entry's other keys, in order.
    var keys: [(key: String, value: String)]

    /// A script plugin: `pre`/`post` paths, `args`, then `options` (`timeout`, `retries`, `on_failure`).
    static func script(
        _ name: String, pre: String? = nil, post: String? = nil, hold: String? = nil, release: String? = nil,
        args: [String] = [], _ options: KeyValuePairs<String, String> = [:]
    ) -> TestPlugin {
        var keys: [(key: String, value: String)] = []
        if let pre { keys.append(("pre", pre)) }
        if let hold { keys.append(("hold", hold)) }
        if let release { keys.append(("release", release)) }
        if let post { keys.append(("post", post)) }
        if !args.isEmpty { keys.append(("args", TestConfig.list(args))) }
        return TestPlugin(name: name, type: nil, keys: keys + options.map { ($0.key, $0.value) })
    }

    /// A MySQL/MariaDB plugin reading its credentials from `defaultsFile`, then `options`.
    static func mysql(
        _ name: String = "db", defaultsFile: String, _ options: KeyValuePairs<String, String> = [:]
    ) -> TestPlugin {
        TestPlugin(
            name: name, type: "mysql", keys: [("defaults_file", defaultsFile)] + options.map { ($0.key, $0.value) })
    }

    /// A PostgreSQL plugin on `host` (a socket directory or an address) and `port`, then `options`
    /// (`mode`, `user`, `password_file`, `os_user`, `label_dir`).
    static func postgres(
        _ name: String = "pg", host: String, port: String, _ options: KeyValuePairs<String, String> = [:]
    ) -> TestPlugin {
        TestPlugin(
            name: name, type: "postgres",
            keys: [("host", host), ("port", port)] + options.map { ($0.key, $0.value) })
    }

    /// The entry's YAML lines, indented under `plugins:`.
    var yamlLines: [String] {
        ["  - name: \(name)"] + (type.map { ["    type: \($0)"] } ?? []) + keys.map { "    \($0.key): \($0.value)" }
    }
}
