import Foundation
import SnapSystem

/// `snaporch report --restore`: the restore steps of one run, from what its plugins recorded.
///
/// Everything printed comes from the report (the label texts, exact in `--json`, the WAL range,
/// the binlog coordinates), so that a restore needs nothing but the snapshot and this text.
package enum RestoreGuide {
    /// The restore steps of `report`, one section per database plugin.
    package static func render(_ report: RunReport) -> String {
        var out: [String] = []
        out.append(
            "Restore of run \(report.runId) (task \(report.taskId), \(report.startedAt.isEmpty ? "start unknown" : report.startedAt))"
        )
        out.append(
            "snapshot: \(report.snapshot.taken ? "taken" : "NOT taken"), consistency \(report.consistency.rawValue), outcome \(report.outcome.rawValue)"
        )
        if !report.snapshot.taken { out.append("There is no snapshot of this run to restore.") }
        let points = report.restorePoints
        if points.isEmpty {
            out.append("")
            out.append(
                "No database plugin recorded restore data in this run: restore the disks; the filesystems are "
                    + (report.consistency == .application || report.consistency == .filesystem
                        ? "consistent (they were frozen)." : "crash-consistent (run fsck/the applications' recovery)."))
        }
        for info in points {
            out.append("")
            switch (info.type, info.mode) {
            case ("postgres", "backup"): out += postgresBackup(info)
            case ("postgres", _): out += postgresCheckpoint(info)
            default: out += mysql(info)
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func postgresBackup(_ info: RestoreInfo) -> [String] {
        let data = info.dataDirectory ?? "the data directory"
        var out = ["PostgreSQL '\(info.plugin)' — backup mode (pg_backup_start/pg_backup_stop)"]
        var n = 0
        func step(_ text: String) {
            n += 1
            out += TextWrap.hanging("  \(n). ", text, width: Summary.width)
        }
        step(
            "Restore the disk snapshot and mount it; DATA below is the restored copy of \(data). Do not start the server yet, and never write these files into the live \(data)."
        )
        step("Remove DATA/postmaster.pid and DATA/postmaster.opts (they belong to the live server).")
        if let label = info.backupLabel {
            step(
                "Write DATA/backup_label with exactly this text, without the indentation (owner postgres, mode 0600; `snaporch report --restore --json` gives it byte for byte\(info.labelFile.map { ", and it is stored in \($0)" } ?? "")):"
            )
            out += block("backup_label", label)
        } else {
            step("backup_label: NOT RECORDED in this report — this snapshot cannot be restored as a backup.")
        }
        if let map = info.tablespaceMap {
            step("Write DATA/tablespace_map with exactly this text (owner postgres, mode 0600):")
            out += block("tablespace_map", map)
        }
        if let wal = info.walDirectory {
            step(
                "pg_wal is a symlink to \(wal): re-point DATA/pg_wal to the restored copy of \(wal) (ln -sfn RESTORED_WAL DATA/pg_wal); never leave it pointing at the live server's WAL."
            )
        }
        let range =
            "\(info.walFirst ?? "the segment of \(info.startLSN ?? "?")") through \(info.walLast ?? "the segment of \(info.stopLSN ?? "?")")"
        let unarchived = info.archiveMode == "off"
        let source =
            unarchived
            ? ", and this server does NOT archive WAL (archive_mode = off): the segments exist only in the live server's pg_wal until its checkpoints recycle them — copy them now into a safe place, then into DATA/pg_wal. Without them this backup_label cannot be used (recovery stops with \"WAL ends before end of online backup\"): restore the snapshot as a crash image instead (no backup_label) — valid only if the data directory, pg_wal and every tablespace were frozen together."
            : ": copy these segments from the WAL archive (pg_backup_stop did not wait for archiving: wait until \(info.walLast ?? "the last one") is archived) or from the live server's pg_wal into DATA/pg_wal, overwriting; or touch DATA/recovery.signal, set restore_command to read the archive and recovery_target = 'immediate' (to stop at the end of the backup)."
        step(
            "WAL needed: segments \(range) (start LSN \(info.startLSN ?? "?"), stop LSN \(info.stopLSN ?? "?")). The snapshot's pg_wal lacks the end of the backup\(source)"
        )
        if let command = info.archiveCommand, !unarchived {
            out.append(
                "     The server archived with archive_mode = \(info.archiveMode ?? "?") and this archive_command:")
            out.append("       " + command)
        }
        step(
            "On a copy restored next to the live system (same host or same archive), start it with archive_mode = off (e.g. -c archive_mode=off) so that it never writes into the live archive, and on another port and socket directory."
        )
        step(
            "Start PostgreSQL: it replays the WAL up to the stop LSN (\(info.stopLSN ?? "?")) and logs \"consistent recovery state reached\". If the first start fails, restart from the pristine snapshot (the failed attempt renamed backup_label)."
        )
        return out
    }

    static func postgresCheckpoint(_ info: RestoreInfo) -> [String] {
        var out = ["PostgreSQL '\(info.plugin)' — checkpoint mode (a crash image of a frozen cluster)"]
        out += TextWrap.hanging(
            "  1. ",
            "Restore the disk snapshot and mount it\(info.dataDirectory.map { " (the data directory was \($0))" } ?? ""); remove postmaster.pid. No backup_label is needed: the server runs crash recovery from its own pg_wal.",
            width: Summary.width)
        var n = 1
        if let wal = info.walDirectory {
            n += 1
            out += TextWrap.hanging(
                "  \(n). ",
                "pg_wal is a symlink to \(wal): re-point it to the restored copy of \(wal), never to the live WAL.",
                width: Summary.width)
        }
        n += 1
        out += TextWrap.hanging(
            "  \(n). ",
            "On a copy next to the live system: archive_mode = off, another port and socket directory; then start PostgreSQL.",
            width: Summary.width)
        return out
    }

    package static func mysql(_ info: RestoreInfo) -> [String] {
        var out = ["MySQL/MariaDB '\(info.plugin)' — lock mode \(info.mode ?? "?"), coordinates read under the lock"]
        if let file = info.binlogFile {
            out.append("  binary log: \(file), position \(info.binlogPosition ?? "?")")
        }
        if let gtid = info.gtid { out.append("  GTID: \(gtid)") }
        if let slave = info.gtidSlavePos { out.append("  replica GTID (gtid_slave_pos): \(slave)") }
        out += TextWrap.hanging(
            "  1. ",
            "Restore the disk snapshot; start the server on the copy: InnoDB runs its crash recovery; the data is exactly the state at these coordinates.",
            width: Summary.width)
        out += TextWrap.hanging(
            "  2. ",
            "On a copy next to the live system: skip-slave-start, another server_id, port and socket, and no log-bin into the live binlog directory.",
            width: Summary.width)
        out += TextWrap.hanging(
            "  3. ",
            "Point-in-time recovery or a new replica starts from these coordinates (binlog file and position, or the GTID above).",
            width: Summary.width)
        return out
    }

    /// `text` between two marker lines, indented, exactly as it is (no wrapping).
    static func block(_ name: String, _ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { "       " + $0 }
        if lines.last == "       " { lines.removeLast() }
        return ["     ----- \(name) -----"] + lines + ["     ----- end of \(name) -----"]
    }

    /// One line per restore record for the `run` summary.
    static func summaryLines(_ report: RunReport) -> [String] {
        report.restorePoints.flatMap { info -> [String] in
            var parts: [String] = []
            if info.backupLabel != nil {
                parts.append("backup_label \(info.backupLabel!.utf8.count) bytes in the report")
            }
            if let first = info.walFirst, let last = info.walLast { parts.append("WAL \(first) … \(last)") }
            if let start = info.startLSN, let stop = info.stopLSN { parts.append("LSN \(start) → \(stop)") }
            if let wal = info.walDirectory { parts.append("pg_wal → \(wal)") }
            if let file = info.binlogFile { parts.append("binlog \(file):\(info.binlogPosition ?? "?")") }
            if let gtid = info.gtid { parts.append("GTID \(gtid)") }
            if info.type == "postgres" && info.mode != "backup" { parts.append("crash image, no label needed") }
            return TextWrap.hanging("restore \(info.plugin): ", parts.joined(separator: "; "), width: Summary.width)
        }
    }
}
