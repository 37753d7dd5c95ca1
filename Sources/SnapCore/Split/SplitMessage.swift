import Foundation
import SnapSystem

/// One line of JSON between the parts of a split-phase run: the holder to `begin` (readiness
/// pipe), `end` to the holder and back (control socket).
package struct SplitMessage: Sendable, Codable, Hashable {
    /// What the line says.
    package enum Kind: String, Sendable, Codable, Hashable {
        /// Holder → begin: it will not run (another run holds the lock, a config error).
        case refused
        /// Holder → begin: the system is quiesced (`quiesced` holds the begin part).
        case quiesced
        /// Holder → begin or end: the run is over (`report`, `exitCode`).
        case finished
        /// End → holder: close the window (`snapshotFailed` when the platform's snapshot failed).
        case end
        /// Holder → end: the request is taken; the final report follows.
        case accepted
    }

    /// What the line says.
    package var kind: Kind
    /// `refused`: why; `accepted`: what the holder is doing now.
    package var message: String?
    /// `refused` and `finished`: the exit code.
    package var exitCode: Int32?
    /// `quiesced`: the begin part of the run.
    package var quiesced: QuiescedReport?
    /// `finished`: the final report.
    package var report: RunReport?
    /// `end`: the reason the platform's snapshot failed.
    package var snapshotFailed: String?
    /// `end`: who sent it.
    package var caller: String?
    /// `end`: when it was sent (monotonic ns): an `end` sent before the quiesce cannot vouch for a
    /// snapshot taken after it.
    package var sentAtNanos: UInt64?

    /// A message of `kind` with no fields (the constructors fill them).
    package init(_ kind: Kind) { self.kind = kind }

    /// A refusal with its exit code.
    package static func refused(_ message: String, exitCode: Int32) -> SplitMessage {
        var m = SplitMessage(.refused)
        m.message = message
        m.exitCode = exitCode
        return m
    }

    /// The final report.
    package static func finished(_ report: RunReport, exitCode: Int32, note: String? = nil) -> SplitMessage {
        var m = SplitMessage(.finished)
        m.report = report
        m.exitCode = exitCode
        m.message = note
        return m
    }

    /// The line (compact JSON and a newline).
    package var line: [UInt8] { Array(JSONOutput.encode(self, pretty: false).utf8) + [0x0A] }

    /// Parses a line; nil when it is not a message.
    package init?(line: String) {
        guard let value = try? JSONDecoder().decode(SplitMessage.self, from: Data(line.utf8)) else { return nil }
        self = value
    }
}
