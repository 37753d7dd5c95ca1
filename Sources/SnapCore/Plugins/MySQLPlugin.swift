import Foundation
import SnapSystem

/// `type: mysql` — MySQL and MariaDB, in four stages around the freeze window:
/// - pre (prepare, blocks no writer): opens one live client session, checks that every directory
///   of durable state is frozen, stops the replica SQL thread if asked, and runs the part of the
///   quiesce that blocks nothing (MariaDB ≥ 10.4: `BACKUP STAGE START`; otherwise the pre-flush
///   `FLUSH LOCAL TABLES` that keeps the later FTWRL short);
/// - hold (right before the first FIFREEZE): `BACKUP STAGE BLOCK_COMMIT` or `FLUSH LOCAL TABLES
///   WITH READ LOCK` under a bounded `lock_wait_timeout`, then the binary-log coordinates;
/// - release (right after the thaw): `BACKUP STAGE END` or `UNLOCK TABLES`;
/// - post (finish): restarts the replica SQL thread, closes the session, checks from a new one
///   that it is gone.
///
/// Safety contract: no global state (such as `read_only`) is ever changed, except the replica SQL
/// thread with `replica: true` — journalled before it is stopped, so that `recover` starts it
/// again — so if snaporch dies the client sees EOF, the server ends the session and every lock
/// with it, within milliseconds. If snaporch is stopped or hung instead, the lock has a dead-man
/// (`HoldDeadline`): the session's `wait_timeout` ends it at the window deadline as known when the
/// hold starts (plus a margin; `afterWindow` once the window is over), and the freeze guard kills
/// the client at the actual freeze deadline (`holdingProcessGroups`). Credentials come only from the root-owned 0600 `defaults_file`, never from argv.
package final class MySQLPlugin: Plugin, @unchecked Sendable {
    package let spec: PluginSpec
    private let lock = NSLock()
    private var session: SQLSession?
    private var prepared: PreparedServer?
    private var held: (mode: DatabaseOptions.MySQLLockMode, connectionId: String, readOnly: String)?
    private var released = false
    private var stoppedReplica = false
    /// The connection that sent STOP REPLICA, unless the server refused it: whatever its answer
    /// (none, at a client-side timeout), the server may stop the SQL thread, even later, so post
    /// makes sure it runs again once that connection has ended. Kept through a failed pre (its
    /// post still runs).
    private var replicaStopSent: String?

    private var postDeadline: MonotonicInstant?

    /// How long the lock may stay idle after the thaw before the server ends it: the snapshot is
    /// taken, the lock protects nothing any more (a stop between the thaw and the release).
    static let afterWindow = TimeSpan.seconds(2)

    package init(spec: PluginSpec) { self.spec = spec }

    var defaultsFile: String { spec.database.defaultsFile ?? "" }
    var lockWaitTimeout: Int { spec.database.effectiveLockWaitTimeout }
    var mode: DatabaseOptions.MySQLLockMode { spec.database.effectiveLockMode }
    var replica: Bool { spec.database.replica ?? false }
    var server: String { "the MySQL/MariaDB server of \(defaultsFile)" }

    package func describe(_ phase: Phase) -> String? {
        switch phase {
        case .pre: "\(spec.name): open a client session (\(defaultsFile)), prepare the quiesce (\(mode.rawValue))"
        case .hold:
            "\(spec.name): take the lock (\(mode.rawValue)) right before the freeze, read the binlog coordinates"
        case .release: "\(spec.name): release the lock right after the thaw"
        case .post: "\(spec.name): restart the replica if stopped, close the session, verify it is gone"
        }
    }

    func clientArguments() -> [String] {
        var args = ["--defaults-extra-file=\(defaultsFile)"]  // must come first
        if let socket = spec.database.socket { args.append("--socket=\(socket)") }
        return args + ["--batch", "--unbuffered", "--skip-column-names", "--force", "--connect-timeout=10"]
    }

    func openSession(_ context: StepContext) throws(DatabaseFailure) -> SQLSession {
        if let problem = DatabaseStep.credentialProblem(defaultsFile) {
            throw DatabaseFailure("defaults_file refused: \(problem)")
        }
        let client = try DatabaseStep.client(DatabaseStep.clientNames(.mysql))
        do {
            return try SQLSession.start(
                executable: client, arguments: clientArguments(),
                environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
                marker: DatabaseStep.marker(context), separator: "\t",
                errorPattern: { $0.hasPrefix("ERROR ") })
        } catch {
            throw DatabaseFailure("cannot start the client: \(error)")
        }
    }

    package func pre(_ context: StepContext) async -> StepReport {
        await offload { [self] in preBlocking(context) }
    }

    package func post(_ context: StepContext) async -> StepReport {
        await offload { [self] in postBlocking(context) }
    }

    package var hasHold: Bool { true }

    package func hold(_ context: StepContext) async -> StepReport {
        await offload { [self] in holdBlocking(context) }
    }

    package func release(_ context: StepContext) async -> StepReport {
        await offload { [self] in releaseBlocking(context) }
    }

    /// Checks the session still holds after the thaw, and re-arms its dead-man: from now on the
    /// server ends the lock after `afterWindow` of idleness.
    package func verifyHeld() async -> String? {
        await offload { [self] () -> String? in
            lock.withLock {
                session.flatMap { held == nil ? nil : $0 }.stillHolding(
                    what: "database session",
                    consequence:
                        "the lock was released early; the application resumed during the window; filesystem-consistent",
                    statement: "SET SESSION wait_timeout = \(Self.afterWindow.milliseconds / 1000); SELECT 1;")
            }
        }
    }

    package func holdingProcessGroups() -> [Int32] {
        lock.withLock { held == nil || released ? [] : session.map { [$0.child.pid] } ?? [] }
    }

    /// The server-side idle timeout of the session until `deadline` (plus the margin), or until the
    /// default window after `budget` outside the pipeline.
    private func idleSeconds(until deadline: MonotonicInstant?, budget: TimeSpan) -> Int {
        let now = MonotonicInstant(nanoseconds: Sys.monotonicNanos())
        let end =
            deadline
            ?? HoldDeadline.windowDeadline(
                now: now, holdBudgets: [budget], killGrace: .seconds(5), window: .seconds(30))
        return HoldDeadline.serverSeconds(until: end, now: now)
    }

    private func preBlocking(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        var details: [String: String] = [:]
        lock.lock()
        defer { lock.unlock() }
        let budget = TimeSpan(milliseconds: max(1000, context.budget.milliseconds))
        do throws(DatabaseFailure) {
            let session = try openSession(context)
            self.session = session
            let server = try identify(session, budget: budget, details: &details)
            // wait_timeout is the server-side end of an idle, forgotten session: until the latest
            // start of the post (the hold sets its own, shorter one).
            postDeadline = context.postDeadline
            let idle = idleSeconds(until: context.postDeadline, budget: budget)
            _ = try session.execute(
                "SET SESSION wait_timeout = \(idle), lock_wait_timeout = \(lockWaitTimeout);", timeout: budget
            ).rows("setting timeouts")
            if replica {
                try stopReplica(
                    session, connectionId: server.connectionId, budget: budget, announce: context.announceReplicaStop,
                    details: &details)
            }
            // Every directory of durable state must be in the frozen set (they do not move under us).
            if !context.frozenMounts.isEmpty {
                let directories = try durableDirectories(session, timeout: budget)
                let gaps = FrozenCoverage(frozen: context.frozenMounts).gaps(directories)
                if !gaps.isEmpty {
                    throw DatabaseFailure(
                        "not on a frozen filesystem: \(FrozenCoverage.describe(gaps)) — the snapshot would hold no "
                            + "consistent image of the server (freeze those filesystems too)")
                }
                details["directoriesChecked"] = String(directories.count)
            }
            // The preparation that blocks no writer: the stage that waits for running DDL, or the
            // pre-flush that makes the later FTWRL short.
            let lockTimeout = TimeSpan(milliseconds: max(budget.milliseconds, (lockWaitTimeout + 5) * 1000))
            if server.mode == .backupStage {
                _ = try session.execute("BACKUP STAGE START;", timeout: lockTimeout).rows("BACKUP STAGE START")
            } else {
                _ = try session.execute("FLUSH LOCAL TABLES;", timeout: lockTimeout).rows("FLUSH LOCAL TABLES")
            }
            prepared = server
            return DatabaseStep.succeeded(started: started, details: details)
        } catch {
            restartReplicaAfterFailure(&details)
            closeLocked()
            return DatabaseStep.failed("\(self.server): \(error.message)", started: started, details: details)
        }
    }

    /// Reads the server's identity and decides the lock mode.
    private func identify(_ session: SQLSession, budget: TimeSpan, details: inout [String: String])
        throws(DatabaseFailure) -> PreparedServer
    {
        let info = try session.execute(
            "SELECT CONNECTION_ID(), VERSION(), @@version_comment, @@global.read_only;", timeout: budget
        ).rows("connecting")
        guard let row = info.first, row.count >= 4 else {
            throw DatabaseFailure("unexpected answer to the version query")
        }
        let (connectionId, version, readOnly) = (row[0], row[1], row[3])
        let isMariaDB = version.contains("MariaDB")
        let numbers = version.split(separator: "-").first?.split(separator: ".").compactMap { Int($0) } ?? []
        let modern = isMariaDB && (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0) >= (10, 4)
        let lockMode: DatabaseOptions.MySQLLockMode = mode == .auto ? (modern ? .backupStage : .ftwrl) : mode
        details["server"] = "\(isMariaDB ? "MariaDB" : "MySQL") \(version)"
        details["connectionId"] = connectionId
        details["lockMode"] = lockMode.rawValue
        if lockMode == .backupStage && !modern {
            throw DatabaseFailure(
                "mode: backup-stage needs MariaDB 10.4 or later; this server is \(version) (use mode: ftwrl or auto)")
        }
        return PreparedServer(mode: lockMode, connectionId: connectionId, readOnly: readOnly)
    }

    /// Stops the replica SQL thread if it runs, after `announce` recorded that it will (see
    /// `StepContext.announceReplicaStop`).
    private func stopReplica(
        _ session: SQLSession, connectionId: String, budget: TimeSpan, announce: (@Sendable () -> String?)?,
        details: inout [String: String]
    ) throws(DatabaseFailure) {
        let status = try session.execute("SHOW REPLICA STATUS;", timeout: budget).rows("reading the replica status")
        if let r = status.first, r.count > 11, r[11] == "Yes" {
            if let problem = announce?() {
                throw DatabaseFailure("the replica SQL thread was not stopped: \(problem)")
            }
            replicaStopSent = connectionId
            switch session.execute("STOP REPLICA SQL_THREAD;", timeout: budget) {
            case .rows: break
            case .error(let e):
                replicaStopSent = nil  // refused: the server stops nothing
                throw DatabaseFailure("stopping the replica SQL thread: \(e)")
            case .timedOut:
                throw DatabaseFailure(
                    "stopping the replica SQL thread timed out; the server may still stop it (the post checks and starts it again)"
                )
            case .lost(let e):
                throw DatabaseFailure(
                    "stopping the replica SQL thread: session lost (\(e)); the server may have stopped it (the post checks and starts it again)"
                )
            }
            stoppedReplica = true
            details["replica"] = "SQL thread stopped"
        }
    }

    /// Never leave a replica stopped because the quiesce failed after stopping it.
    private func restartReplicaAfterFailure(_ details: inout [String: String]) {
        if stoppedReplica, let session {
            if case .rows = session.execute("START REPLICA SQL_THREAD;", timeout: .seconds(10)) {
                details["replica"] = "SQL thread restarted after the failure"
                replicaStopSent = nil
            }
        }
    }

    /// The blocking step, right before the freeze: BLOCK_COMMIT or FTWRL, then the coordinates.
    private func holdBlocking(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        lock.lock()
        defer { lock.unlock() }
        guard let session, let prepared else {
            return DatabaseStep.failed("\(server): the session prepared by pre is gone", started: started, details: [:])
        }
        var details = ["connectionId": prepared.connectionId, "lockMode": prepared.mode.rawValue]
        let budget = TimeSpan(milliseconds: max(1000, context.budget.milliseconds))
        let lockTimeout = TimeSpan(milliseconds: max(budget.milliseconds, (lockWaitTimeout + 5) * 1000))
        do throws(DatabaseFailure) {
            // The dead-man, before the lock: the server ends the session when it stays idle past the
            // window deadline (a stopped snaporch), and so the lock with it.
            let idle = idleSeconds(until: context.windowDeadline, budget: budget)
            _ = try session.execute(
                "SET SESSION wait_timeout = \(idle), net_read_timeout = \(idle), net_write_timeout = \(idle);",
                timeout: budget
            ).rows("arming the dead-man")
            if prepared.mode == .backupStage {
                _ = try session.execute("BACKUP STAGE BLOCK_COMMIT;", timeout: lockTimeout).rows(
                    "BACKUP STAGE BLOCK_COMMIT")
            } else {
                _ = try session.execute("FLUSH LOCAL TABLES WITH READ LOCK;", timeout: lockTimeout).rows(
                    "FLUSH TABLES WITH READ LOCK")
            }
        } catch {
            _ = session.execute(
                prepared.mode == .backupStage ? "BACKUP STAGE END;" : "UNLOCK TABLES;", timeout: .seconds(5))
            return DatabaseStep.failed("\(server): \(error.message)", started: started, details: details)
        }
        held = (prepared.mode, prepared.connectionId, prepared.readOnly)
        // Coordinates read under the lock: they do not move until the release.
        // The dead-man re-armed with the coordinates (no extra round trip under the lock): the idle
        // time starts after them, the deadline stays put.
        let idle = idleSeconds(until: context.windowDeadline, budget: budget)
        readCoordinates(session, budget: budget, into: &details, rearm: "SET SESSION wait_timeout = \(idle); ")
        details["deadman"] =
            "the server ends the lock after \(idle) s idle (wait_timeout: the window deadline as known at the hold, "
            + "+ \(HoldDeadline.margin)); the freeze guard ends the session at the freeze deadline"
        var report = DatabaseStep.succeeded(started: started, details: details)
        report.restore = RestoreInfo.mysql(plugin: spec.name, lockMode: prepared.mode.rawValue, details: details)
        return report
    }

    /// The binary-log coordinates, read under the lock; `rearm` runs first in the same round trip.
    private func readCoordinates(
        _ session: SQLSession, budget: TimeSpan, into details: inout [String: String], rearm: String
    ) {
        if let master = try? session.execute(rearm + "SHOW MASTER STATUS;", timeout: budget).rows(""),
            let m = master.first, m.count >= 2
        {
            details["binlogFile"] = m[0]
            details["binlogPosition"] = m[1]
        }
        if let gtid = try? session.execute(
            "SELECT @@global.gtid_binlog_pos, @@global.gtid_slave_pos;", timeout: budget
        ).rows(""),
            let g = gtid.first
        {
            details["gtidBinlogPos"] = g.first ?? ""
            if g.count > 1 { details["gtidSlavePos"] = g[1] }
        } else if let gtid = try? session.execute("SELECT @@global.gtid_executed;", timeout: budget).rows(""),
            let g = gtid.first
        {
            details["gtidExecuted"] = g.first ?? ""
        }
    }

    /// Ends the hold right after the thaw: the application resumes here, before any post.
    private func releaseBlocking(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        lock.lock()
        defer { lock.unlock() }
        guard let session, let held else {
            return DatabaseStep.skipped(started: started, note: "no lock was held")
        }
        var details = ["connectionId": held.connectionId]
        var problems: [String] = []
        switch session.execute(
            held.mode == .backupStage ? "BACKUP STAGE END;" : "UNLOCK TABLES;", timeout: .seconds(10))
        {
        case .rows:
            details["released"] = "yes"
            // Nothing is held any more: the session may idle until the post.
            let idle = idleSeconds(until: postDeadline, budget: context.budget)
            _ = session.execute("SET SESSION wait_timeout = \(idle);", timeout: .seconds(5))
        case .error(let e): problems.append("release failed: \(e)")
        case .lost(let e):
            // Not a failed resume: the server ended the session and its lock when it was lost (its
            // dead-man: wait_timeout, or the guard at the freeze deadline), so the application
            // resumed then (the window's verdict already says so).
            details["released"] =
                "early: the session was gone before the release (\(e)); the server released the lock with it"
        case .timedOut: problems.append("the release did not answer in 10 s")
        }
        released = true
        return DatabaseStep.result(problems, server: server, started: started, details: details)
    }

    /// Finishes: restarts the replica SQL thread if pre stopped it, closes the session (which ends
    /// any stage or lock still open) and checks from a new session that it is gone.
    private func postBlocking(_ context: StepContext) -> StepReport {
        let started = Sys.monotonicNanos()
        lock.lock()
        defer { lock.unlock() }
        defer { replicaStopSent = nil }
        guard let session, let prepared else {
            closeLocked()
            if let connection = replicaStopSent {
                return replicaStartedAfterFailedPre(context, started: started, stopConnection: connection)
            }
            return DatabaseStep.skipped(started: started, note: "no session was open")
        }
        var details = ["connectionId": prepared.connectionId]
        var problems: [String] = []
        if held != nil && !released {
            problems.append("the lock was never released by a release step; closing the session ends it")
        } else if held == nil, prepared.mode == .backupStage {
            _ = session.execute("BACKUP STAGE END;", timeout: .seconds(10))
        }
        let checker = try? openSession(context)
        var replicaLeft: String?
        if stoppedReplica {
            // STOP REPLICA is global: it outlives the holding session, so restart it from the new
            // session when the holder is gone (its dead-man ended it, say).
            let live = session.execute("SELECT 1;", timeout: .seconds(5)).isRows ? session : checker
            switch live?.execute("START REPLICA SQL_THREAD;", timeout: .seconds(10)) {
            case .rows: details["replica"] = "SQL thread restarted"
            case .error(let e), .lost(let e): replicaLeft = "could not restart the replica SQL thread: \(e)"
            case .timedOut: replicaLeft = "START REPLICA SQL_THREAD did not answer in 10 s"
            case nil: replicaLeft = "could not restart the replica SQL thread: no session to the server"
            }
        }
        if let replicaLeft {
            problems.append(replicaLeft + " (recover or the next run starts it if it is still stopped)")
        }
        closeLocked()
        // Check from a new session that the holder is gone and nothing global changed.
        if let checker {
            let answer = checker.execute(
                "SELECT COUNT(*), @@global.read_only FROM information_schema.PROCESSLIST WHERE ID = \(prepared.connectionId);",
                timeout: .seconds(10))
            if case .rows(let r) = answer, let row = r.first, row.count >= 2 {
                if row[0] != "0" {
                    problems.append("the holding session \(prepared.connectionId) is still on the server")
                }
                if row[1] != prepared.readOnly {
                    problems.append("read_only changed from \(prepared.readOnly) to \(row[1])")
                }
                details["verified"] = row[0] == "0" ? "session gone" : "session still present"
            }
            checker.close()
        }
        var report = DatabaseStep.result(problems, server: server, started: started, details: details)
        if replicaLeft != nil { report.dutyLeft = Self.replicaDuty }
        return report
    }

    /// The duty a post leaves to `recover` or the next run when it could not start the replica again.
    static let replicaDuty = "start the replica SQL thread that the pre stopped, if it is still stopped"

    private func closeLocked() {
        session?.close()
        session = nil
        prepared = nil
        held = nil
        released = false
        stoppedReplica = false
        postDeadline = nil
    }
}

/// What pre learned about the server, for the hold.
struct PreparedServer: Sendable {
    var mode: DatabaseOptions.MySQLLockMode
    var connectionId: String
    var readOnly: String
}

/// A database step that failed, with the reason.
struct DatabaseFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
