import Foundation
import SnapSystem

/// Takes the disk snapshots inside the freeze window; the seam between the pipeline and the
/// snapshot mechanism (Blob REST, the host endpoint, a local command).
package protocol SnapshotProvider: Sendable {
    /// The provider's name for the report.
    var name: String { get }

    /// Everything that can be done before the window (requests built, connections ready).
    /// - Throws: `SnapshotError` when the provider cannot run at all.
    func prepare() async throws(SnapshotError) -> any PreparedSnapshot
}

/// A snapshot ready to fire.
package protocol PreparedSnapshot: Sendable {
    /// Takes every disk's snapshot in parallel; each call is bounded by `deadlineNanos`
    /// (monotonic) and by the provider's own timeout. Never writes to a local disk.
    func take(deadlineNanos: UInt64) async -> SnapshotReport

    /// True when `take` returns by its deadline on its own whatever the other side does (it only
    /// reads local sockets and pipes, with bounded waits): the run then awaits it without a timer
    /// of its own, so an answer that came in time is never lost to the race with a timer that woke
    /// as late as this process (stopped, a paused VM).
    var boundsItself: Bool { get }
}

extension PreparedSnapshot {
    package var boundsItself: Bool { false }
}

/// A provider that could not be prepared.
package struct SnapshotError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The Azure error code that fits.
    package var code: ErrorCode
    package var message: String

    package init(code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
