import Foundation
import SnapSystem

extension MySQLPlugin {
    /// The server variables that name where durable state is written (absent ones are ignored:
    /// `aria_log_dir_path` exists on MariaDB only).
    static let directoryVariables = [
        "datadir", "innodb_data_home_dir", "innodb_data_file_path", "innodb_log_group_home_dir",
        "innodb_undo_directory", "log_bin_basename", "log_bin_index", "relay_log_basename", "relay_log_index",
        "aria_log_dir_path",
    ]

    /// Every directory the server writes durable state to: its data, redo, undo, system tablespace,
    /// binary and relay logs, Aria logs, and the targets of symlinked databases and tables (and
    /// InnoDB `DATA DIRECTORY` tables) found in the data directory.
    func durableDirectories(_ session: SQLSession, timeout: TimeSpan) throws(DatabaseFailure)
        -> [FrozenCoverage.Directory]
    {
        let names = Self.directoryVariables.map { "'\($0)'" }.joined(separator: ", ")
        let rows = try session.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (\(names));", timeout: timeout)
            .rows("reading the server's directories")
        var variables: [String: String] = [:]
        for row in rows where row.count >= 2 { variables[row[0].lowercased()] = row[1] }
        guard let datadir = variables["datadir"], datadir.hasPrefix("/") else {
            throw DatabaseFailure("the server did not report its datadir")
        }
        return Self.directories(fromVariables: variables) + FrozenCoverage.linkedDirectories(under: datadir)
    }

    /// The directories named by the server's variables, relative values resolved the server's way
    /// (against the data directory, or `innodb_data_home_dir` for the system tablespace files).
    static func directories(fromVariables variables: [String: String]) -> [FrozenCoverage.Directory] {
        let datadir = variables["datadir"] ?? ""
        func resolve(_ value: String, against base: String) -> String {
            if value.hasPrefix("/") { return value }
            let trimmed = value.hasPrefix("./") ? String(value.dropFirst(2)) : value
            let root = base.hasSuffix("/") ? String(base.dropLast()) : base
            return trimmed.isEmpty || trimmed == "." ? root : root + "/" + trimmed
        }
        func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
        var out = [FrozenCoverage.Directory("datadir", datadir)]
        let dataHome = resolve(variables["innodb_data_home_dir"] ?? "", against: datadir)
        out.append(.init("innodb_data_home_dir", dataHome))
        for file in (variables["innodb_data_file_path"] ?? "").split(separator: ";") {
            guard let name = file.split(separator: ":").first, !name.isEmpty else { continue }
            out.append(.init("innodb_data_file_path", parent(resolve(String(name), against: dataHome))))
        }
        for key in ["innodb_log_group_home_dir", "innodb_undo_directory", "aria_log_dir_path"] {
            guard let value = variables[key] else { continue }
            out.append(.init(key, resolve(value, against: datadir)))
        }
        for key in ["log_bin_basename", "log_bin_index", "relay_log_basename", "relay_log_index"] {
            guard let value = variables[key], !value.isEmpty else { continue }
            out.append(.init(key, parent(resolve(value, against: datadir))))
        }
        return out
    }
}
