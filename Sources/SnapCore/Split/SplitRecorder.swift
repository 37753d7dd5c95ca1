import Foundation
import SnapSystem
import Synchronization

/// What the holder learns while its run goes on: the quiesce (from the orchestrator) and how the
/// window closed (from the platform provider); shared across tasks behind a `Mutex`.
final class SplitRecorder: Sendable {
    private struct Facts {
        var state: SplitState
        var quiesced: QuiescedReport?
        var quiescedAt: UInt64?
        var ending: PlatformEnd?
        var heldMs: Int?
    }
    private let facts: Mutex<Facts>

    init(state: SplitState) { facts = Mutex(Facts(state: state)) }

    /// The holder's state file content.
    var state: SplitState { facts.withLock { $0.state } }

    /// True once the system was quiesced (begin was answered).
    var quiesced: Bool { facts.withLock { $0.quiesced != nil } }

    /// Records the quiesce.
    func quiesce(_ report: QuiescedReport) {
        facts.withLock {
            $0.quiesced = report
            $0.quiescedAt = Sys.monotonicNanos()
            $0.state.quiescedAt = report.split.quiescedAt
            $0.state.windowEndsAt = report.windowEndsAt
        }
    }

    /// Records how the window closed.
    func close(_ end: PlatformEnd) {
        facts.withLock { facts in
            facts.ending = end
            if let start = facts.quiescedAt { facts.heldMs = Int((Sys.monotonicNanos() - start) / 1_000_000) }
        }
    }

    /// The split part of the final report.
    func splitReport(_ plan: Plan) -> SplitReport? {
        guard let split = plan.options.split, let window = plan.splitWindow else { return nil }
        return facts.withLock { facts in
            var report = SplitReport(
                caller: split.caller, leaseMs: split.lease.milliseconds, windowMs: window.limit.milliseconds,
                bound: window.bound, platformFreezes: split.platformFreezes, holderPid: ThisProcess.id)
            report.quiescedAt = facts.quiesced?.split.quiescedAt
            report.heldMs = facts.heldMs
            report.callerNotes = split.notes.isEmpty ? nil : split.notes
            switch facts.ending {
            case nil: report.ending = .notQuiesced
            case .snapshotTaken: report.ending = .end
            case .snapshotFailed(let reason):
                report.ending = .snapshotFailed
                report.snapshotFailedReason = reason
            case .deadlinePassed: report.ending = .leaseExpired
            case .interrupted: report.ending = .interrupted
            }
            return report
        }
    }
}

/// The holder's end of the readiness pipe to `begin`: one message, then closed.
///
/// Safety contract: a write never blocks longer than 2 s (a stopped `begin`), and a vanished
/// `begin` gives EPIPE, never a signal.
final class ReadinessPipe: Sendable {
    private let fd: Mutex<FileDescriptor?>

    init(fd: FileDescriptor) { self.fd = Mutex(fd) }

    /// Sends `message` if the pipe is still open.
    func send(_ message: SplitMessage) {
        fd.withLock { fd in
            guard let fd else { return }
            _ = BoundedWrite.writeAll(fd, message.line, deadline: Poll.deadline(afterMilliseconds: 2000))
        }
    }

    /// Closes the pipe (`begin` sees EOF after the last message).
    func close() {
        fd.withLock { fd in
            fd?.close()
            fd = nil
        }
    }
}
