import Foundation

/// What a restore of this run's snapshot needs from one database plugin, recorded by the plugin
/// while it held its quiesce (MySQL/MariaDB) or when it ended the backup (PostgreSQL).
///
/// It travels with the snapshot: in the report (the plugin's step), in a bounded entry of the
/// handler status, in the `run` summary, and in `snaporch report --restore`.
package struct RestoreInfo: Sendable, Codable, Hashable {
    /// Plugin name.
    package var plugin: String
    /// `postgres` or `mysql`.
    package var type: String
    /// `backup` or `checkpoint` (PostgreSQL), the lock mode (MySQL).
    package var mode: String?

    /// PostgreSQL: the data directory as the server reported it.
    package var dataDirectory: String?
    /// PostgreSQL: where `pg_wal` really is, when it is a symlink out of the data directory.
    package var walDirectory: String?
    /// PostgreSQL backup mode: the exact `backup_label` text (write it byte for byte).
    package var backupLabel: String?
    /// PostgreSQL backup mode: the exact `tablespace_map` text, when there are tablespaces.
    package var tablespaceMap: String?
    /// Where `label_dir` stored the label files of this run, if it did.
    package var labelFile: String?
    /// PostgreSQL backup mode: the backup's start and stop (backup-end record) positions.
    package var startLSN: String?
    package var stopLSN: String?
    /// PostgreSQL backup mode: the first and last WAL segment a restore needs.
    package var walFirst: String?
    package var walLast: String?
    /// PostgreSQL: the server's archive_mode and archive_command, when readable.
    package var archiveMode: String?
    package var archiveCommand: String?

    /// MySQL/MariaDB: the binary log coordinates read under the lock.
    package var binlogFile: String?
    package var binlogPosition: String?
    /// MariaDB `gtid_binlog_pos` / MySQL `gtid_executed` read under the lock.
    package var gtid: String?
    /// MariaDB `gtid_slave_pos` (a replica's applied position).
    package var gtidSlavePos: String?

    /// Fields shortened to keep the status document small (see `bounded()`).
    package var truncated: [String]?

    /// Creates an empty record for `plugin`.
    package init(plugin: String, type: String, mode: String? = nil) {
        self.plugin = plugin
        self.type = type
        self.mode = mode
    }

    /// The MySQL/MariaDB record from the coordinates the plugin read under its lock (nil when
    /// the server has no binary log and no GTID).
    package static func mysql(plugin: String, lockMode: String?, details: [String: String]) -> RestoreInfo? {
        var info = RestoreInfo(plugin: plugin, type: "mysql", mode: lockMode)
        info.binlogFile = details["binlogFile"]?.nilIfEmpty
        info.binlogPosition = details["binlogPosition"]?.nilIfEmpty
        info.gtid = (details["gtidBinlogPos"] ?? details["gtidExecuted"])?.nilIfEmpty
        info.gtidSlavePos = details["gtidSlavePos"]?.nilIfEmpty
        return info.binlogFile == nil && info.gtid == nil ? nil : info
    }

    /// The largest text a field may keep in the status document, in bytes.
    package static let fieldLimit = 8 << 10

    /// A copy whose texts fit `fieldLimit` each; what was cut is listed in `truncated` (the full
    /// text stays in the report and in `labelFile`).
    package func bounded() -> RestoreInfo {
        var copy = self
        var cut: [String] = []
        func clip(_ value: inout String?, _ name: String) {
            guard let text = value, text.utf8.count > Self.fieldLimit else { return }
            value = String(decoding: text.utf8.prefix(Self.fieldLimit), as: UTF8.self)
            cut.append(name)
        }
        clip(&copy.backupLabel, "backupLabel")
        clip(&copy.tablespaceMap, "tablespaceMap")
        clip(&copy.archiveCommand, "archiveCommand")
        clip(&copy.gtid, "gtid")
        clip(&copy.gtidSlavePos, "gtidSlavePos")
        copy.truncated = cut.isEmpty ? nil : cut
        return copy
    }
}

extension RunReport {
    /// The restore records of the run's plugins, in plugin order (a plugin's post record, which
    /// knows the backup's end, wins over its pre record).
    package var restorePoints: [RestoreInfo] {
        plugins.compactMap { $0.post?.restore ?? $0.hold?.restore ?? $0.pre?.restore }
    }
}
