import Foundation
import SnapSystem

/// `type: postgres`, in two modes.
///
/// `checkpoint` (default): a `CHECKPOINT` right before the window so crash recovery after a
/// restore is short, and a check that the data directory, `pg_wal` and every tablespace lie on
/// the frozen filesystems — frozen together, they form an atomic crash image PostgreSQL recovers
/// from without any backup mode. A directory outside the frozen set fails the step.
///
/// `backup`: one live `psql` session runs `pg_backup_start(label, fast => true)` (15+) or
/// `pg_start_backup(label, true, false)` (9.6–14) and stays open through the window; post runs
/// `pg_backup_stop()` in the same session and stores `backup_label` (and `tablespace_map`) in
/// `label_dir`. A restore needs the WAL from the start to the stop LSN as well (reported).
///
/// Safety contract: if snaporch dies, psql sees EOF and the server aborts the backup; nothing
/// is left behind. The holder session never opens a transaction. A backup blocks no writer, but it
/// has a dead-man all the same (`HoldDeadline`): on PostgreSQL 14+ the session's
/// `idle_session_timeout` ends it after the latest moment its post can start, and the freeze guard
/// kills psql at the freeze deadline when snaporch is stopped or hung inside the window.
package final class PostgresPlugin: Plugin, @unchecked Sendable {
    package let spec: PluginSpec
    private let lock = NSLock()
    private var session: SQLSession?
    private var backend: (pid: String, version: Int, startLSN: String, inRecovery: Bool)?
    private var postDeadline: MonotonicInstant?

    package init(spec: PluginSpec) { self.spec = spec }

    var mode: DatabaseOptions.PostgresMode { spec.database.effectivePostgresMode }
    var server: String {
        "the PostgreSQL server at \(spec.database.host ?? "the default socket"):\(spec.database.port ?? 5432)"
    }

    package func describe(_ phase: Phase) -> String? {
        switch (mode, phase) {
        case (.backup, .pre): return "\(spec.name): psql session, pg_backup_start(fast), held through the window"
        case (.backup, .post): return "\(spec.name): pg_backup_stop() in the same session, store backup_label"
        case (_, .pre): return "\(spec.name): check the cluster's directories are frozen, then CHECKPOINT"
        default: return "\(spec.name): nothing to release (checkpoint mode)"
        }
    }

    /// argv and environment of psql (run as `os_user` through runuser when configured).
    func command(_ context: StepContext) throws(DatabaseFailure) -> (String, [String], [String: String]) {
        let psql = try DatabaseStep.client(DatabaseStep.clientNames(.postgres))
        var args = ["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=0"]
        if let host = spec.database.host { args += ["-h", host] }
        if let port = spec.database.port { args += ["-p", String(port)] }
        if let user = spec.database.user { args += ["-U", user] }
        args += ["-d", spec.database.database ?? "postgres"]
        var env = [
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PGAPPNAME": "snaporch-\(context.runId)",
            "PGCONNECT_TIMEOUT": "10",
        ]
        if let file = spec.database.passwordFile {
            if let problem = DatabaseStep.credentialProblem(file) {
                throw DatabaseFailure("password_file refused: \(problem)")
            }
            env["PGPASSFILE"] = file
        }
        if let osUser = spec.database.osUser {
            let runuser = try DatabaseStep.client(["runuser"])
            return (runuser, ["-u", osUser, "--", psql] + args, env)
        }
        return (psql, args, env)
    }

    func openSession(_ context: StepContext) throws(DatabaseFailure) -> SQLSession {
        let (executable, args, env) = try command(context)
        do {
            return try SQLSession.start(
                executable: executable, arguments: args, environment: env, marker: DatabaseStep.marker(context),
                separator: "|",
                errorPattern: {
                    $0.hasPrefix("ERROR:") || $0.hasPrefix("FATAL:") || $0.hasPrefix("PANIC:")
                        || $0.hasPrefix("psql: error")
                })
        } catch {
            throw DatabaseFailure("cannot start psql: \(error)")
        }
    }

    package func pre(_ context: StepContext) async -> StepReport {
        await offload { [self] in mode == .backup ? backupStart(context) : checkpoint(context) }
    }

    package func post(_ context: StepContext) async -> StepReport {
        await offload { [self] in
            mode == .backup
                ? backupStop(context)
                : DatabaseStep.succeeded(
                    started: Sys.monotonicNanos(), details: ["note": "checkpoint mode holds nothing"])
        }
    }

    package func verifyHeld() async -> String? {
        guard mode == .backup else { return nil }
        return await offload { [self] () -> String? in
            lock.withLock {
                // Re-armed: the idle time starts again here, the deadline stays put.
                let rearm = backend.map { Self.idleTimeouts(version: $0.version, until: postDeadline) } ?? ""
                return session.flatMap { backend == nil ? nil : $0 }.stillHolding(
                    what: "backup session",
                    consequence: "the server aborted the backup early; the snapshot is filesystem-consistent",
                    statement: rearm + "SELECT 1;")
            }
        }
    }

    private func checkpoint(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        var details: [String: String] = [:]
        let budget = TimeSpan(milliseconds: max(1000, context.budget.milliseconds))
        do throws(DatabaseFailure) {
            let session = try openSession(context)
            defer { session.close() }
            let directories = try clusterDirectories(session, timeout: budget)
            details["directories"] = directories.map(\.path).joined(separator: ", ")
            if !context.frozenMounts.isEmpty {
                let gaps = FrozenCoverage(frozen: context.frozenMounts).gaps(directories)
                if !gaps.isEmpty {
                    throw DatabaseFailure(
                        "not on a frozen filesystem: \(FrozenCoverage.describe(gaps)) — the snapshot is no consistent crash image of the cluster (freeze them too, or use mode: backup)"
                    )
                }
            }
            _ = try session.execute("CHECKPOINT;", timeout: budget).rows("CHECKPOINT")
            details["checkpoint"] = "done"
            var report = DatabaseStep.succeeded(started: started, details: details)
            report.restore = RestoreInfo(plugin: spec.name, type: "postgres", mode: "checkpoint")
            let data = directories.first { $0.role == "data_directory" }?.path ?? ""
            report.restore?.dataDirectory = data.nilIfEmpty
            report.restore?.walDirectory = data.isEmpty ? nil : Self.symlinkedWAL(dataDirectory: data)
            return report
        } catch {
            return DatabaseStep.failed("\(server): \(error.message)", started: started, details: details)
        }
    }

    /// The cluster's directories: the data directory, `pg_wal` (a symlink followed) and every tablespace.
    func clusterDirectories(_ session: SQLSession, timeout: TimeSpan) throws(DatabaseFailure)
        -> [FrozenCoverage.Directory]
    {
        let data =
            try session.execute("SHOW data_directory;", timeout: timeout).rows("SHOW data_directory").first?.first ?? ""
        let spaces = try session.execute(
            "SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global');",
            timeout: timeout
        ).rows("listing tablespaces")
        var directories = [
            FrozenCoverage.Directory("data_directory", data),
            FrozenCoverage.Directory("pg_wal", PathSecurity.realPath(data + "/pg_wal") ?? data + "/pg_wal"),
        ]
        directories += spaces.compactMap { $0.count > 1 ? FrozenCoverage.Directory("tablespace \($0[0])", $0[1]) : nil }
        return directories
    }

    private func backupStart(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        var details: [String: String] = [:]
        lock.lock()
        defer { lock.unlock() }
        let budget = TimeSpan(milliseconds: max(1000, context.budget.milliseconds))
        do throws(DatabaseFailure) {
            let session = try openSession(context)
            self.session = session
            postDeadline = context.postDeadline
            let seconds = max(1, budget.milliseconds / 1000)
            _ = try session.execute("SET statement_timeout = '\(seconds)s';", timeout: budget).rows("setting timeouts")
            let info = try session.execute(
                "SELECT pg_backend_pid(), current_setting('server_version_num')::int, pg_is_in_recovery();",
                timeout: budget
            ).rows("connecting")
            guard let row = info.first, row.count >= 3, let version = Int(row[1]) else {
                throw DatabaseFailure("unexpected answer to the version query")
            }
            // After the version query: idle_session_timeout is unknown before PostgreSQL 14.
            let idle = Self.idleTimeouts(version: version, until: postDeadline)
            if !idle.isEmpty { _ = try session.execute(idle, timeout: budget).rows("setting idle timeouts") }
            if !context.frozenMounts.isEmpty {
                let gaps = FrozenCoverage(frozen: context.frozenMounts).gaps(
                    try clusterDirectories(session, timeout: budget))
                if !gaps.isEmpty {
                    throw DatabaseFailure(
                        "not on a frozen filesystem: \(FrozenCoverage.describe(gaps)) — the snapshot would not hold "
                            + "those files as of the backup (freeze those filesystems too)")
                }
            }
            let label = "snaporch-\(context.runId)".filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            let start =
                version >= 150_000
                ? "SELECT pg_backup_start(label => '\(label)', fast => true);"
                : "SELECT pg_start_backup('\(label)', true, false);"
            let lsn = try session.execute(start, timeout: budget).rows("starting the backup").first?.first ?? ""
            // Last: the dead-man, re-armed when the idle time starts.
            _ = session.execute(
                "SET statement_timeout = 0; " + Self.idleTimeouts(version: version, until: postDeadline),
                timeout: budget)
            backend = (row[0], version, lsn, row[2] == "t")
            details = ["backendPid": row[0], "serverVersionNum": row[1], "startLSN": lsn, "label": label]
            if row[2] == "t" { details["backupFrom"] = "standby" }
            details["deadman"] = Self.deadmanNote(version: version, until: postDeadline)
            return DatabaseStep.succeeded(started: started, details: details)
        } catch {
            closeLocked()
            return DatabaseStep.failed("\(server): \(error.message)", started: started, details: details)
        }
    }

    private func backupStop(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        lock.lock()
        defer { lock.unlock() }
        guard let session, let backend else {
            closeLocked()
            return DatabaseStep.skipped(started: started, note: "no backup was in progress")
        }
        var details = ["backendPid": backend.pid, "startLSN": backend.startLSN]
        var problems: [String] = []
        let stop = Self.stopQuery(version: backend.version, startLSN: backend.startLSN, inRecovery: backend.inRecovery)
        var restore: RestoreInfo?
        switch session.execute(stop, timeout: .seconds(60)) {
        case .rows(let r):
            if let row = r.first, row.count >= 4 {
                details["stopLSN"] = row[0]
                details["stopWalFile"] = row[1]
                if let problem = storeLabel(hex: row[2], tablespaceMapHex: row[3], context: context, into: &details) {
                    problems.append(problem)
                }
                restore = restoreInfo(startLSN: backend.startLSN, row: row, labelFile: details["backupLabel"])
                let segment = row[1].isEmpty ? "" : " (segment \(row[1]))"
                let archive = backend.inRecovery ? "the primary's WAL archive (taken on a standby)" : "the archive"
                details["restore"] =
                    "put backup_label (and tablespace_map) into the restored data directory and provide the WAL from \(backend.startLSN) up to \(row[0])\(segment) from \(archive)"
            } else {
                problems.append("pg_backup_stop returned no row")
            }
        case .error(let e): problems.append("pg_backup_stop failed: \(e)")
        case .lost(let e): problems.append("the backup session was lost (\(e)); the server aborted the backup")
        case .timedOut: problems.append("pg_backup_stop did not answer in 60 s")
        }
        closeLocked()
        if let checker = try? openSession(context) {
            if case .rows(let r) = checker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = \(backend.pid);", timeout: .seconds(10))
            {
                details["verified"] = r.first?.first == "0" ? "session gone" : "session still present"
                if r.first?.first != "0" { problems.append("the backup session \(backend.pid) is still on the server") }
            }
            if restore != nil {
                Self.addServerFacts(&restore!, session: checker)
                // A standby's own archive settings are not the ones its WAL comes from (the primary's).
                if backend.inRecovery { (restore!.archiveMode, restore!.archiveCommand) = (nil, nil) }
                if restore?.archiveMode == "off" {
                    details["walArchive"] =
                        "off: the WAL from \(backend.startLSN) to the stop LSN is only in the live pg_wal until it is recycled; a restore with backup_label needs it (see the restore guide)"
                }
            }
            checker.close()
        }
        var report = DatabaseStep.result(problems, server: server, started: started, details: details)
        report.restore = restore
        return report
    }

    /// Writes `backup_label` (and `tablespace_map`) into `label_dir` (0600); returns a problem, if any.
    private func storeLabel(
        hex: String, tablespaceMapHex: String, context: StepContext, into details: inout [String: String]
    ) -> String? {
        guard let directory = spec.database.labelDir else {
            return "label_dir is not set: backup_label was not stored"
        }
        let run = directory + "/" + context.runId
        do {
            try FileSystem.makeDirectory(run, mode: 0o700)
            try FileSystem.writeAtomically(Self.bytes(fromHex: hex), to: run + "/backup_label")
            details["backupLabel"] = run + "/backup_label"
            if !tablespaceMapHex.isEmpty {
                try FileSystem.writeAtomically(Self.bytes(fromHex: tablespaceMapHex), to: run + "/tablespace_map")
                details["tablespaceMap"] = run + "/tablespace_map"
            }
            return nil
        } catch {
            return "cannot store backup_label in \(run): \(error)"
        }
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        while let a = iterator.next(), let b = iterator.next() {
            guard let high = value(a), let low = value(b) else { break }
            out.append(high << 4 | low)
        }
        return out
    }

    private func closeLocked() {
        session?.close()
        session = nil
        backend = nil
        postDeadline = nil
    }

    package func holdingProcessGroups() -> [Int32] {
        lock.withLock { backend == nil ? [] : session.map { [$0.child.pid] } ?? [] }
    }
}
