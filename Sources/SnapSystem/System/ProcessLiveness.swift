import Foundation
import Glibc

/// Whether a pid still names the same, running process: zombies count as dead (an orphan whose
/// reaper never reaps stays a zombie), and a start time, when known, guards against pid reuse.
package enum ProcessLiveness {
    /// The process start time (clock ticks since boot, field 22 of `/proc/PID/stat`).
    package static func startTime(_ pid: Int32) -> UInt64? {
        fields(pid).flatMap { $0.count > 19 ? UInt64($0[19]) : nil }
    }

    /// True when `pid` is alive (not a zombie) and, if given, started at `startTime`.
    package static func isAlive(_ pid: Int32, startTime expected: UInt64? = nil) -> Bool {
        guard let fields = fields(pid), let state = fields.first else { return false }
        if state == "Z" || state == "X" { return false }
        if let expected, fields.count > 19, UInt64(fields[19]) != expected { return false }
        return true
    }

    /// True when some process of group `pgid` is alive (zombies, which an init that does not reap
    /// leaves around forever, do not count).
    package static func groupHasLiveMembers(_ pgid: Int32) -> Bool {
        guard kill(-pgid, 0) == 0 else { return false }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let f = fields(pid), f.count > 2, Int32(f[2]) == pgid else { continue }
            if f[0] != "Z" && f[0] != "X" { return true }
        }
        return false
    }

    /// The fields after the command name: state, ppid, pgrp, session, … (`proc(5)`).
    private static func fields(_ pid: Int32) -> [String]? {
        guard let text = ProcFile.text("/proc/\(pid)/stat"),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return text[text.index(after: close)...].split(separator: " ").map(String.init)
    }
}
