/// Freezes and thaws a set of filesystems; the seam between the pipeline and the kernel.
public protocol Freezer: Sendable {
    /// Gets ready to freeze `mounts` (in the given order): opens them, syncs them, starts any
    /// guard. Nothing is frozen yet. The returned session thaws by itself after `timeout`.
    func prepare(_ mounts: [MountEntry], timeout: TimeSpan) throws(FreezeError) -> any FreezeSession
}

/// One prepared freeze window.
///
/// Safety contract: after `freeze()` the caller must call `thaw()` on every path; the
/// implementation also thaws on its own at the deadline or if the caller dies.
public protocol FreezeSession: AnyObject, Sendable {
    /// Freezes every mount in order; returns one result per mount. Blocking, sub-millisecond per mount.
    func freeze() -> [MountFreezeResult]
    /// Asks for the thaw at once (a non-blocking 2-byte pipe write); `thaw()` then waits for it.
    func requestThaw()
    /// Thaws what was frozen, in reverse order. Blocking.
    func thaw() -> ThawOutcome
    /// Releases the session without freezing (when the window is not opened after all).
    func cancel()
    /// After `thaw()`: closes the fds and reaps the guard (kept out of the window's timing).
    func finish()
}

extension FreezeSession {
    public func requestThaw() {}
}

/// The result of FIFREEZE on one mount.
public struct MountFreezeResult: Sendable, Hashable {
    public var mountPoint: String
    /// 0 when frozen, else the errno.
    public var errno: Int32
    /// How long FIFREEZE took, in microseconds.
    public var micros: Int = 0

    public init(mountPoint: String, errno: Int32, micros: Int = 0) {
        self.mountPoint = mountPoint
        self.errno = errno
        self.micros = micros
    }
}

/// What the thaw found.
public struct ThawOutcome: Sendable, Hashable {
    /// errno of FITHAW per mount point (0 thawed; EINVAL already thawed).
    public var results: [String: Int32] = [:]
    /// First FIFREEZE to last FITHAW, in microseconds.
    public var windowMicros: Int = 0
    /// True when the deadline thawed the filesystems before the caller asked.
    public var deadlineHit = false
    /// True when the guard had died and the orchestrator thawed with its own fds.
    public var guardLost = false

    public init() {}
}

/// A freeze that could not be prepared.
public struct FreezeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The Azure error code that fits.
    public var code: Int
    /// What went wrong, naming the mount.
    public var message: String

    public init(code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
