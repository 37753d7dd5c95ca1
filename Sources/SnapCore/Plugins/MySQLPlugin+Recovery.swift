import Foundation
import SnapSystem

extension MySQLPlugin {
    /// For `recover`: starts the replica SQL thread that an interrupted run's pre stopped (its
    /// `replicaStopping` record says so), if it is still stopped. STOP REPLICA is global: unlike a
    /// lock, it does not end with the run's session. Blocks; run it on a worker thread.
    /// The server is reached as the plugin did: `defaultsFile` and `socket`.
    static func restartReplica(plugin name: String, defaultsFile: String, socket: String?, _ context: StepContext)
        -> StepReport
    {
        var spec = PluginSpec(name: name, kind: .mysql)
        spec.database.defaultsFile = defaultsFile
        spec.database.socket = socket
        var report = MySQLPlugin(spec: spec).startReplicaIfStopped(
            context, started: Sys.monotonicNanos(), stoppedBy: "the interrupted run")
        if report.status == .failed { report.dutyLeft = replicaDuty }
        return report
    }

    /// The post of a pre that failed after sending STOP REPLICA from `stopConnection`: its answer
    /// may never have come (a client-side timeout) while the server stops the SQL thread all the
    /// same, later. Waits (bounded) until that connection has ended on the server — until then the
    /// STOP may still be running — and starts the thread again from a new session if it is stopped.
    func replicaStartedAfterFailedPre(_ context: StepContext, started: UInt64, stopConnection: String) -> StepReport {
        var report = startReplicaIfStopped(
            context, started: started, stoppedBy: "the failed pre's STOP REPLICA", after: stopConnection)
        if report.status == .failed { report.dutyLeft = Self.replicaDuty }
        return report
    }

    /// How long a post waits for the connection of an unanswered STOP REPLICA to end.
    static let stopConnectionWait = TimeSpan.seconds(30)

    /// Starts the replica SQL thread from a new session if it is stopped, once the connection
    /// `after` (one that sent STOP REPLICA) is gone; `stoppedBy` says who stopped it (in the report
    /// and the error).
    private func startReplicaIfStopped(
        _ context: StepContext, started: UInt64, stoppedBy: String, after connection: String? = nil
    ) -> StepReport {
        var details: [String: String] = [:]
        do throws(DatabaseFailure) {
            let session = try openSession(context)
            defer { session.close() }
            if let connection {
                try waitUntilGone(connection, session)
            }
            let status = try session.execute("SHOW REPLICA STATUS;", timeout: .seconds(10)).rows(
                "reading the replica status")
            guard let row = status.first, row.count > 11 else {
                return DatabaseStep.skipped(started: started, note: "the server is no replica any more")
            }
            if row[11] == "Yes" {
                details["replica"] = "SQL thread already running"
            } else {
                _ = try session.execute("START REPLICA SQL_THREAD;", timeout: .seconds(10)).rows(
                    "starting the replica SQL thread")
                details["replica"] = "SQL thread restarted (\(stoppedBy) had stopped it)"
            }
            return DatabaseStep.succeeded(started: started, details: details)
        } catch {
            return DatabaseStep.failed(
                "\(server): \(stoppedBy) may have stopped the replica SQL thread and it could not be started "
                    + "again: \(error.message) — run START REPLICA SQL_THREAD",
                started: started, details: details)
        }
    }

    /// Waits until `connection` has left the server's process list (its STOP REPLICA is over),
    /// looking every 100 ms for at most `stopConnectionWait`.
    private func waitUntilGone(_ connection: String, _ session: SQLSession) throws(DatabaseFailure) {
        let end = Sys.monotonicNanos() + UInt64(Self.stopConnectionWait.milliseconds) * 1_000_000
        while true {
            let count = try session.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = \(connection);", timeout: .seconds(10)
            ).rows("looking for the connection that sent STOP REPLICA").first?.first
            if count == "0" { return }
            if Sys.monotonicNanos() >= end {
                throw DatabaseFailure(
                    "its STOP REPLICA (connection \(connection)) is still running on the server after \(Self.stopConnectionWait); start the SQL thread once it has ended"
                )
            }
            ThisProcess.sleep(microseconds: 100_000)
        }
    }
}
