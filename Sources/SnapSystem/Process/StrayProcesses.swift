import Foundation
import Glibc

/// Processes this process did not start — left behind by a run that was killed — found by their
/// environment and stopped by pid.
///
/// Safety contract: never signals this process; a pid whose start time changed (the process ended
/// and the pid was reused) is not signalled; every wait is bounded.
package enum StrayProcesses {
    /// A process found by `find`: its pid and start time (against pid reuse).
    package struct Found: Sendable, Hashable {
        /// The pid.
        package var pid: Int32
        /// The start time read with it (`/proc/PID/stat` field 22).
        package var startTime: UInt64?
    }

    /// The processes other than this one whose environment holds `required` and one of `anyOf`
    /// (whole `NAME=value` entries).
    package static func find(environmentWith required: String, andOneOf anyOf: [String]) -> [Found] {
        let marker = Array(required.utf8)
        let alternatives = anyOf.map { Array($0.utf8) }
        let me = getpid()
        var found: [Found] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), pid != me, let data = ProcFile.bytes("/proc/\(name)/environ") else {
                continue
            }
            let entries = Array(data).split(separator: 0).map(Array.init)
            if entries.contains(marker) && entries.contains(where: { alternatives.contains($0) }) {
                found.append(Found(pid: pid, startTime: ProcessLiveness.startTime(pid)))
            }
        }
        return found
    }

    /// SIGTERM to each, up to `grace` for all of them to end, then SIGKILL to the survivors.
    package static func terminate(_ processes: [Found], grace: TimeSpan = .seconds(1)) {
        guard !processes.isEmpty else { return }
        for process in processes { send(SIGTERM, to: process) }
        let end = Sys.monotonicNanos() + UInt64(grace.milliseconds) * 1_000_000
        while Sys.monotonicNanos() < end && processes.contains(where: isAlive) { usleep(20_000) }
        for process in processes { send(SIGKILL, to: process) }
    }

    private static func isAlive(_ process: Found) -> Bool {
        ProcessLiveness.isAlive(process.pid, startTime: process.startTime)
    }

    private static func send(_ signal: Int32, to process: Found) {
        if isAlive(process) { _ = kill(process.pid, signal) }
    }
}
