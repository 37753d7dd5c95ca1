import Foundation
import SnapSystem

/// What PostgreSQL's backup mode records for a restore: the label texts, the LSNs, the WAL
/// segment range, where the data directory and `pg_wal` really are, and how WAL is archived.
extension PostgresPlugin {
    /// `pg_backup_stop()` (15+) or `pg_stop_backup(false, false)`, with the stop and start WAL
    /// file names and the label texts as hex (one row, one line). In recovery (a standby) the WAL
    /// file names are empty: `pg_walfile_name()` refuses to run there, and an error would lose the
    /// label of a backup that did stop.
    static func stopQuery(version: Int, startLSN: String, inRecovery: Bool) -> String {
        let start = startLSN.filter { $0.isHexDigit || $0 == "/" }
        let call = version >= 150_000 ? "pg_backup_stop(wait_for_archive => false)" : "pg_stop_backup(false, false)"
        let (last, first) = inRecovery ? ("''", "''") : ("pg_walfile_name(lsn)", "pg_walfile_name('\(start)'::pg_lsn)")
        return
            "SELECT lsn, \(last), encode(convert_to(labelfile, 'UTF8'), 'hex'), encode(convert_to(spcmapfile, 'UTF8'), 'hex'), \(first) FROM \(call);"
    }

    /// The restore record of a backup that stopped with `row` (the columns of `stopQuery`).
    func restoreInfo(startLSN: String, row: [String], labelFile: String?) -> RestoreInfo {
        var info = RestoreInfo(plugin: spec.name, type: "postgres", mode: "backup")
        info.startLSN = startLSN
        info.stopLSN = row[0]
        info.walLast = row[1].nilIfEmpty
        info.backupLabel = String(decoding: Self.bytes(fromHex: row[2]), as: UTF8.self).nilIfEmpty
        info.tablespaceMap = String(decoding: Self.bytes(fromHex: row[3]), as: UTF8.self).nilIfEmpty
        info.walFirst = row.count > 4 ? row[4].nilIfEmpty : nil
        info.labelFile = labelFile
        return info
    }

    /// Adds the data directory, a symlinked `pg_wal` and the archive settings, read in `session`
    /// (best effort: a role without `pg_read_all_settings` leaves them out).
    static func addServerFacts(_ info: inout RestoreInfo, session: SQLSession) {
        guard
            case .rows(let rows) = session.execute(
                "SELECT current_setting('data_directory'), current_setting('archive_mode'), current_setting('archive_command');",
                timeout: .seconds(10)),
            let row = rows.first, row.count >= 3
        else { return }
        info.dataDirectory = row[0].nilIfEmpty
        info.archiveMode = row[1].nilIfEmpty
        info.archiveCommand = row[2].nilIfEmpty
        if let data = info.dataDirectory { info.walDirectory = symlinkedWAL(dataDirectory: data) }
    }

    /// The real directory of `DATA/pg_wal` when it is a symlink, else nil.
    static func symlinkedWAL(dataDirectory: String) -> String? {
        let wal = dataDirectory + "/pg_wal"
        guard (try? FileInfo.of(wal, followLinks: false))?.kind == .symlink else { return nil }
        return PathSecurity.realPath(wal) ?? wal
    }
}
