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
        return MySQLPlugin(spec: spec).startReplicaIfStopped(
            context, started: Sys.monotonicNanos(), stoppedBy: "the interrupted run")
    }

    /// The post of a pre that failed after sending STOP REPLICA: its answer may never have come
    /// (a client-side timeout) while the server stops the SQL thread all the same, later. Starts
    /// it again from a new session if it is stopped.
    func replicaStartedAfterFailedPre(_ context: StepContext, started: UInt64) -> StepReport {
        startReplicaIfStopped(context, started: started, stoppedBy: "the failed pre's STOP REPLICA")
    }

    /// Starts the replica SQL thread from a new session if it is stopped; `stoppedBy` says who
    /// stopped it (in the report and the error).
    private func startReplicaIfStopped(_ context: StepContext, started: UInt64, stoppedBy: String) -> StepReport {
        var details: [String: String] = [:]
        do throws(DatabaseFailure) {
            let session = try openSession(context)
            defer { session.close() }
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
                "\(server): \(stoppedBy) stopped the replica SQL thread and it could not be started "
                    + "again: \(error.message) — run START REPLICA SQL_THREAD",
                started: started, details: details)
        }
    }
}
