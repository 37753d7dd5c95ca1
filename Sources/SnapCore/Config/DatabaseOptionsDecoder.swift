import Foundation
import SnapSystem

/// Decodes the options of `mysql` and `postgres` plugins into `DatabaseOptions`, with the same
/// positioned errors and "did you mean" as keys: a misspelt mode must never silently run another
/// one, and a value the plugin cannot use must stop `validate` and `run` before anything starts.
struct DatabaseOptionsDecoder {
    /// The plugin's name, for the `name.key` in messages.
    let plugin: String

    /// Decodes the options present in `map` (unknown keys were already reported); `entry` is the
    /// plugin's mapping, where a missing required key is reported. Returns nil after any error.
    func decode(_ map: [String: YAMLNode], kind: PluginSpec.Kind, entry: YAMLNode, reader: inout NodeReader)
        -> DatabaseOptions?
    {
        let errorsBefore = reader.diagnostics.errorCount
        var options = DatabaseOptions()
        switch kind {
        case .script: return options
        case .mysql: decodeMySQL(map, entry: entry, into: &options, reader: &reader)
        case .postgres: decodePostgres(map, into: &options, reader: &reader)
        }
        return reader.diagnostics.errorCount == errorsBefore ? options : nil
    }

    private func key(_ name: String) -> String { "\(plugin).\(name)" }

    private func decodeMySQL(
        _ map: [String: YAMLNode], entry: YAMLNode, into options: inout DatabaseOptions, reader: inout NodeReader
    ) {
        if let n = map["defaults_file"] {
            options.defaultsFile = absolutePath(n, "defaults_file", reader: &reader)
        } else {
            reader.error("mysql plugin '\(plugin)' is missing the required key 'defaults_file'", at: entry)
        }
        if let n = map["socket"] { options.socket = absolutePath(n, "socket", reader: &reader) }
        if let n = map["mode"] {
            options.lockMode = reader.choice(n, key: key("mode"), as: DatabaseOptions.MySQLLockMode.self)
        }
        if let n = map["lock_wait_timeout"], let span = reader.duration(n, key: key("lock_wait_timeout")) {
            if span.milliseconds % 1000 != 0 || span.milliseconds < 1000 || span > .seconds(3600) {
                reader.error(
                    "'\(key("lock_wait_timeout"))' must be whole seconds between 1 and 3600 (the server counts seconds), found \(span)",
                    at: n)
            } else {
                options.lockWaitTimeout = span.milliseconds / 1000
            }
        }
        if let n = map["replica"] { options.replica = reader.bool(n, key: key("replica")) }
    }

    private func decodePostgres(
        _ map: [String: YAMLNode], into options: inout DatabaseOptions, reader: inout NodeReader
    ) {
        if let n = map["mode"] {
            options.postgresMode = reader.choice(n, key: key("mode"), as: DatabaseOptions.PostgresMode.self)
        }
        if let n = map["host"], let host = reader.string(n, key: key("host")) {
            let hostChars = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:_".contains($0)) }
            if host.hasPrefix("/") || (!host.isEmpty && hostChars) {
                options.host = host
            } else {
                reader.error(
                    "'\(key("host"))' must be a host name or the absolute directory of the server's socket, found '\(host)'",
                    at: n)
            }
        }
        if let n = map["port"] { options.port = reader.int(n, key: key("port"), range: 1...65_535) }
        if let n = map["user"] { options.user = name(n, "user", reader: &reader) }
        if let n = map["database"] {
            // psql reads a `-d` value with `=` or a URI prefix as a whole connection string, which
            // may carry a password into every `ps` listing; the value is not repeated here.
            let text = (n.scalar ?? "").lowercased()
            if text.contains("=") || text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
                reader.error(
                    "'\(key("database"))' must be a database name, found a connection string (not shown: it may "
                        + "hold a password, and psql would show it to every user in ps); give host, port, user "
                        + "and password_file their own keys", at: n)
            } else {
                options.database = name(n, "database", reader: &reader)
            }
        }
        if let n = map["password_file"] { options.passwordFile = absolutePath(n, "password_file", reader: &reader) }
        if let n = map["os_user"], let user = reader.string(n, key: key("os_user")) {
            if Self.isUnixUserName(user) {
                options.osUser = user
            } else {
                reader.error("'\(key("os_user"))' must be a Unix user name (like postgres), found '\(user)'", at: n)
            }
        }
        if let user = options.osUser, options.passwordFile != nil, let n = map["password_file"] {
            reader.error(
                "'\(key("password_file"))' cannot be used with '\(key("os_user"))': psql runs as \(user) and cannot "
                    + "read a password file that must be root's and 0600 (libpq would skip it without a word); "
                    + "with os_user, the server's peer authentication needs no password", at: n)
        }
        if let n = map["label_dir"] { options.labelDir = absolutePath(n, "label_dir", reader: &reader) }
        if options.postgresMode == .backup, map["label_dir"] == nil, let n = map["mode"] {
            reader.error(
                "'\(key("mode"))': backup needs 'label_dir', the directory where each run's backup_label is kept "
                    + "(a restore cannot start without it)", at: n)
        }
        if options.effectivePostgresMode == .checkpoint, let n = map["label_dir"] {
            reader.warning(
                "'\(key("label_dir"))' is only used with 'mode: backup'; checkpoint mode writes no label", at: n)
        }
    }

    /// An absolute path, or nil after an error.
    private func absolutePath(_ node: YAMLNode, _ name: String, reader: inout NodeReader) -> String? {
        guard let path = reader.string(node, key: key(name)) else { return nil }
        guard path.hasPrefix("/") else {
            reader.error("'\(key(name))' must be an absolute path, found '\(path)'", at: node)
            return nil
        }
        return path
    }

    /// A non-empty name without spaces or control characters, or nil after an error.
    private func name(_ node: YAMLNode, _ name: String, reader: inout NodeReader) -> String? {
        guard let text = reader.string(node, key: key(name)) else { return nil }
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true })
        else {
            reader.error("'\(key(name))' must be a name without spaces, found '\(text)'", at: node)
            return nil
        }
        return text
    }

    /// POSIX-portable user names as `useradd` accepts them.
    static func isUnixUserName(_ text: String) -> Bool {
        guard let first = text.first, text.count <= 32, first == "_" || (first.isASCII && first.isLowercase) else {
            return false
        }
        let body = text.hasSuffix("$") ? text.dropLast() : Substring(text)
        return body.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}

extension Array where Element == Diagnostic {
    /// How many findings are errors.
    var errorCount: Int { count { $0.severity == .error } }
}
