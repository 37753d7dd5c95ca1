import Foundation
import SnapSystem

/// The holder of a running split-phase run, as `/run/snaporch/split/state.json` records it: who
/// holds, since when, until when. Read by `end` (where to connect, how long to wait) and by a
/// second `begin` (what to say when refused).
package struct SplitState: Sendable, Codable, Hashable {
    /// The run's id.
    package var runId: String
    /// The holder's pid and start time (guards against a reused pid).
    package var pid: Int32
    package var pidStart: UInt64?
    /// Who called begin.
    package var caller: String
    /// When begin started the holder, ISO-8601.
    package var begunAt: String
    /// The lease, in milliseconds.
    package var leaseMs: Int
    /// When the system was quiesced, ISO-8601 (nil before).
    package var quiescedAt: String?
    /// When the window closes by itself, ISO-8601 (nil before the quiesce).
    package var windowEndsAt: String?
    /// The latest moment the holder can still be running (epoch ms): every budget of the run from
    /// its start, the lease, and margins. `end` waits no longer than this.
    package var finishByEpochMs: Int64
    /// The same moment on the monotonic clock (ms since boot): a step of the wall clock (NTP after
    /// a paused VM) does not move it. Nil in a state written by an older version.
    package var finishByMonotonicMs: UInt64?

    /// The one sentence a refused begin (or a busy run) gives about this holder.
    package var summary: String {
        var text = "split run \(runId) (holder pid \(pid), begun \(begunAt) by \(caller)"
        if let windowEndsAt { text += ", lease ends \(windowEndsAt)" } else { text += ", still quiescing" }
        return text + ")"
    }

    /// True while the holder process runs.
    package var holderAlive: Bool { ProcessLiveness.isAlive(pid, startTime: pidStart) }
}

/// How the last split-phase run ended, as `/run/snaporch/split/last.json` keeps it until an `end`
/// collects it (an `end` that comes after the lease expired, or after the holder died).
package struct SplitLast: Sendable, Codable, Hashable {
    /// The run's id.
    package var runId: String
    /// When it ended, ISO-8601.
    package var endedAt: String
    /// How the window closed.
    package var ending: SplitReport.Ending
    /// The run's exit code (as `run` would have returned it).
    package var exitCode: Int32
    /// True once an `end` received the final report.
    package var collected: Bool
    /// Where the report is (the state directory's last report, or a pending one under /run).
    package var reportPath: String?
    /// False when the report is still pending under /run (the platform may have had /var/lib frozen).
    package var stored: Bool
    /// The final report itself (for an `end` that comes late).
    package var report: RunReport?
}

extension SplitReport.Ending {
    /// How an `end` that comes late describes the ending.
    package func describe(leaseMs: Int?) -> String {
        switch self {
        case .end: return "ended by `snaporch end`"
        case .snapshotFailed: return "ended by `snaporch end --snapshot-failed`"
        case .leaseExpired: return "lease expired" + (leaseMs.map { " after \(SplitText.seconds($0))" } ?? "")
        case .interrupted: return "interrupted by a signal"
        case .notQuiesced: return "stopped before the system was quiesced"
        case .holderDied: return "the holder died"
        }
    }
}

/// Wording shared by the split-phase messages.
package enum SplitText {
    /// `60 s`, `1.5 s`.
    package static func seconds(_ ms: Int) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }

    /// An ISO-8601 timestamp (UTC, milliseconds) of `date`.
    package static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// The instant an `iso(_:)` timestamp names; nil for any other text.
    package static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
