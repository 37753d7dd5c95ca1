import Foundation
import SnapSystem

/// Freezes and thaws a set of filesystems; the seam between the pipeline and the kernel.
package protocol Freezer: Sendable {
    /// Gets ready to freeze `mounts` (in the given order): opens them, syncs them, starts any
    /// guard. Nothing is frozen yet. The returned session thaws by itself after `timeout`.
    func prepare(_ mounts: [MountEntry], timeout: TimeSpan) throws(FreezeError) -> any FreezeSession
}

/// One prepared freeze window.
///
/// Safety contract: after `freeze()` the caller must call `thaw()` on every path; the
/// implementation also thaws on its own at the deadline or if the caller dies.
package protocol FreezeSession: AnyObject, Sendable {
    /// Before `freeze()`: the process groups (database clients holding a lock) the session kills
    /// right after its own thaw at the deadline, when the caller has not thawed by then (it is
    /// stopped or hung) — the dead-man of those holds. Never when the caller thaws in time.
    func endAtDeadline(processGroups: [Int32])
    /// Freezes every mount in order; returns one result per mount. Blocking, sub-millisecond per mount.
    func freeze() -> [MountFreezeResult]
    /// Asks for the thaw at once (a non-blocking 2-byte pipe write); `thaw()` then waits for it.
    func requestThaw()
    /// Thaws what was frozen, in reverse order. Blocking.
    func thaw() -> ThawOutcome
    /// Releases the session without freezing (when the window is not opened after all).
    func cancel()
    /// After `thaw()`: closes the fds and reaps the guard (kept out of the window's timing). Never
    /// blocks on a guard that waits for a FIFREEZE still in flight.
    func finish()
    /// After `thaw()`, for the mounts of `ThawOutcome.inFlight`: waits up to `limit` for their late
    /// FIFREEZE to return and be thawed. Returns what is known so far, per mount point.
    func settleInFlight(waitUpTo limit: TimeSpan) -> [String: LateFreeze]
}

extension FreezeSession {
    package func endAtDeadline(processGroups: [Int32]) {}
    package func requestThaw() {}
    package func settleInFlight(waitUpTo limit: TimeSpan) -> [String: LateFreeze] { [:] }
}

/// A FIFREEZE that returned after the deadline, and the thaw that followed at once.
package struct LateFreeze: Sendable, Hashable {
    /// errno of the late FIFREEZE (0: it froze the filesystem, late).
    package var freezeErrno: Int32
    /// How long it took, in microseconds.
    package var micros: Int
    /// errno of the FITHAW made the moment it returned (-1: nothing to thaw).
    package var thawErrno: Int32

    package init(freezeErrno: Int32, micros: Int, thawErrno: Int32) {
        self.freezeErrno = freezeErrno
        self.micros = micros
        self.thawErrno = thawErrno
    }

    /// True when the filesystem is known not to be frozen any more.
    package var knownThawed: Bool { freezeErrno != 0 || FreezeIoctlResult(errnoValue: thawErrno).confirmsThaw }
}

/// The result of FIFREEZE on one mount.
package struct MountFreezeResult: Sendable, Hashable {
    package var mountPoint: String
    /// 0 when frozen, else the errno.
    package var errno: Int32
    /// How long FIFREEZE took, in microseconds.
    package var micros: Int = 0
    /// True when the outcome is unknown: FIFREEZE was still running at the deadline, or the guard
    /// never answered. The filesystem may be frozen until a thaw is confirmed.
    package var inFlight = false

    package init(mountPoint: String, errno: Int32, micros: Int = 0) {
        self.mountPoint = mountPoint
        self.errno = errno
        self.micros = micros
    }
}

/// What the thaw found.
package struct ThawOutcome: Sendable, Hashable {
    /// errno of FITHAW per mount point (0 thawed; EINVAL already thawed).
    package var results: [String: Int32] = [:]
    /// First FIFREEZE to last FITHAW, in microseconds.
    package var windowMicros: Int = 0
    /// True when the deadline thawed the filesystems before the caller asked.
    package var deadlineHit = false
    /// True when the guard had died (or stopped answering) and the orchestrator thawed with its own fds.
    package var guardLost = false
    /// Mount points whose FIFREEZE was still in flight when the guard reported: they may become
    /// frozen later; the guard stays alive to thaw them (see `FreezeSession.settleInFlight`).
    package var inFlight: [String] = []
    /// The guard's pid, when there is a guard process.
    package var guardPid: Int32?
    /// The process groups the dead-man killed at the deadline (see `FreezeSession.endAtDeadline`).
    package var deadmanEnded: [Int32] = []

    package init() {}
}

/// A freeze that could not be prepared.
package struct FreezeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The Azure error code that fits.
    package var code: ErrorCode
    /// What went wrong, naming the mount.
    package var message: String

    package init(code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
