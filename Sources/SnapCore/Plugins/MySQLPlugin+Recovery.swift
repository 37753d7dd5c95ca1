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
        let started = Sys.monotonicNanos()
        var spec = PluginSpec(name: name, kind: .mysql)
        spec.database.defaultsFile = defaultsFile
        spec.database.socket = socket
        let plugin = MySQLPlugin(spec: spec)
        var details: [String: String] = [:]
        do throws(DatabaseFailure) {
            let session = try plugin.openSession(context)
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
                details["replica"] = "SQL thread restarted (the interrupted run had stopped it)"
            }
            return DatabaseStep.succeeded(started: started, details: details)
        } catch {
            return DatabaseStep.failed(
                "\(plugin.server): the interrupted run stopped the replica SQL thread and it could not be started "
                    + "again: \(error.message) — run START REPLICA SQL_THREAD",
                started: started, details: details)
        }
    }
}
