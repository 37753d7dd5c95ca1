import Foundation
import SnapSystem

/// How the window of a split-phase run closed, as the platform's side told it.
package enum PlatformEnd: Sendable, Hashable {
    /// `snaporch end`: the platform took its snapshot.
    case snapshotTaken
    /// `snaporch end --snapshot-failed REASON`.
    case snapshotFailed(String)
    /// The deadline passed first: `end` did not come within the lease (or the freeze timeout).
    case deadlinePassed
    /// A signal stopped the wait.
    case interrupted(Int32)
}

/// Where the end of a split-phase window comes from: the holder's control channel.
package protocol PlatformEndSource: Sendable {
    /// Waits for `end` until the monotonic `deadlineNanos` (then looks once more at what already
    /// came); never writes to a disk. Returns by the deadline plus that look: the run awaits it
    /// without a timer of its own (`PreparedSnapshot.boundsItself`).
    func waitForEnd(deadlineNanos: UInt64) async -> PlatformEnd
}

/// `provider: platform`: the platform (qemu-ga's host, VMware, Google, AWS) takes the snapshot
/// while the holder of a split-phase run keeps the system quiesced; its "take" waits for `end`.
///
/// Safety contract: returns by `deadlineNanos` (the lease, or the freeze deadline when begin
/// froze), whatever the other side does; writes nothing anywhere.
package struct PlatformSnapshotProvider: SnapshotProvider {
    package let name = "platform"
    /// Who takes the snapshot (`qemu-ga`, `vmware`, …), for the report.
    let caller: String
    /// The window's limit and which bound it is, for the messages.
    let window: TimeSpan
    let bound: SplitReport.Bound
    let source: any PlatformEndSource
    /// Receives how the window closed (the holder records it for the report and the answer to `end`).
    let closed: @Sendable (PlatformEnd) -> Void

    /// Creates the provider of one split-phase run.
    package init(
        caller: String, window: TimeSpan, bound: SplitReport.Bound, source: any PlatformEndSource,
        closed: @escaping @Sendable (PlatformEnd) -> Void
    ) {
        self.caller = caller
        self.window = window
        self.bound = bound
        self.source = source
        self.closed = closed
    }

    package func prepare() async throws(SnapshotError) -> any PreparedSnapshot { Prepared(provider: self) }

    struct Prepared: PreparedSnapshot {
        let provider: PlatformSnapshotProvider

        /// `waitForEnd` polls until the deadline and then looks once more (`SplitChannel`).
        var boundsItself: Bool { true }

        func take(deadlineNanos: UInt64) async -> SnapshotReport {
            let start = Sys.monotonicNanos()
            let end = await provider.source.waitForEnd(deadlineNanos: deadlineNanos)
            provider.closed(end)
            let ms = Int((Sys.monotonicNanos() - start) / 1_000_000)
            return Self.report(end, heldMs: ms, provider: provider)
        }

        /// The snapshot part of the report for `end`.
        static func report(_ end: PlatformEnd, heldMs: Int, provider: PlatformSnapshotProvider) -> SnapshotReport {
            var report = SnapshotReport()
            report.provider = .platform
            var disk = DiskReport(blob: "platform (\(provider.caller))", ok: false)
            disk.durationMs = heldMs
            switch end {
            case .snapshotTaken:
                disk.ok = true
                report.taken = true
            case .snapshotFailed(let reason):
                report.error = "the platform (\(provider.caller)) says its snapshot failed: \(reason)"
                report.errorCode = .splitPlatformSnapshotFailed
            case .deadlinePassed:
                report.error = Self.expiry(provider)
                report.errorCode = .splitLeaseExpired
            case .interrupted(let signal):
                report.error = "interrupted by signal \(signal) while waiting for `snaporch end`: no snapshot assumed"
                report.errorCode = .generic
            }
            disk.error = report.error
            report.disks = [disk]
            return report
        }

        /// The sentence for a window that hit its limit before `end` came.
        static func expiry(_ provider: PlatformSnapshotProvider) -> String {
            let ms = provider.window.milliseconds
            let limit = ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
            switch provider.bound {
            case .lease:
                return "lease expired: `end` did not come within \(limit); released holds, thawed, ran posts"
            case .freezeTimeout:
                return "lease expired: `end` did not come within freeze.timeout (\(limit), shorter than the lease); "
                    + "released holds, thawed, ran posts"
            }
        }
    }
}
