import Foundation
import SnapSystem

/// The options of a `mysql` or `postgres` plugin, decoded into typed values by the config layer.
///
/// Every field holds what the config said (nil: not written), so a converted legacy config shows
/// only what it set; the `effective…` accessors give the value a run uses.
package struct DatabaseOptions: Sendable, Hashable {
    /// How the MySQL/MariaDB plugin quiesces (`mode:` of `type: mysql`).
    package enum MySQLLockMode: String, Sendable, Hashable, Codable, CaseIterable {
        /// `backup-stage` on MariaDB ≥ 10.4, else `ftwrl`.
        case auto
        /// `BACKUP STAGE START` + `BACKUP STAGE BLOCK_COMMIT` (MariaDB ≥ 10.4).
        case backupStage = "backup-stage"
        /// `FLUSH TABLES WITH READ LOCK`.
        case ftwrl
    }

    /// How the PostgreSQL plugin makes the snapshot consistent (`mode:` of `type: postgres`).
    package enum PostgresMode: String, Sendable, Hashable, Codable, CaseIterable {
        /// A `CHECKPOINT`, then an atomic crash image of every directory of the cluster.
        case checkpoint
        /// `pg_backup_start`/`pg_backup_stop` around the window; `backup_label` stored in `label_dir`.
        case backup
    }

    // MySQL / MariaDB
    /// `defaults_file`: the root-owned 0600 client option file with the credentials.
    package var defaultsFile: String?
    /// `socket`: the server's Unix socket.
    package var socket: String?
    /// `mode` of a mysql plugin.
    package var lockMode: MySQLLockMode?
    /// `lock_wait_timeout`, in whole seconds.
    package var lockWaitTimeout: Int?
    /// `replica`: stop the replica SQL thread for the window.
    package var replica: Bool?

    // PostgreSQL
    /// `mode` of a postgres plugin.
    package var postgresMode: PostgresMode?
    /// `host`: a host name, or the directory of the server's socket (absolute path).
    package var host: String?
    /// `port`.
    package var port: Int?
    /// `user`: the database role.
    package var user: String?
    /// `database` to connect to.
    package var database: String?
    /// `password_file`: a root-owned 0600 `.pgpass` file.
    package var passwordFile: String?
    /// `os_user`: the Unix user psql runs as (peer authentication).
    package var osUser: String?
    /// `label_dir`: where `backup_label` and `tablespace_map` of each run are stored.
    package var labelDir: String?

    /// Creates empty options.
    package init() {}

    /// The lock mode a run uses.
    package var effectiveLockMode: MySQLLockMode { lockMode ?? .auto }
    /// The `lock_wait_timeout` a run uses, in seconds.
    package var effectiveLockWaitTimeout: Int { lockWaitTimeout ?? 10 }
    /// The PostgreSQL mode a run uses.
    package var effectivePostgresMode: PostgresMode { postgresMode ?? .checkpoint }

    /// The options as written in YAML (`key`, value), in a stable order; only those that are set.
    package var pairs: [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        func add(_ key: String, _ value: String?) { if let value { out.append((key, value)) } }
        add("database", database)
        add("defaults_file", defaultsFile)
        add("host", host)
        add("label_dir", labelDir)
        add("lock_wait_timeout", lockWaitTimeout.map(String.init))
        add("mode", lockMode?.rawValue ?? postgresMode?.rawValue)
        add("os_user", osUser)
        add("password_file", passwordFile)
        add("port", port.map(String.init))
        add("replica", replica.map { $0 ? "true" : "false" })
        add("socket", socket)
        add("user", user)
        return out
    }

    /// The value of the YAML key `key` as text, nil when not set.
    package subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }
}
