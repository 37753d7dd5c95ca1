import Glibc

/// The calling process: its id, environment, session, memory locking, pauses and exit.
package enum ThisProcess {
    /// This process's id (`getpid(2)`).
    package static var id: Int32 { getpid() }

    /// An id of the calling thread, for logs (`pthread_self(3)`).
    package static var threadID: UInt { UInt(pthread_self()) }

    /// The value of environment variable `name` as the C library sees it now (`getenv(3)`).
    package static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Leaves the caller's session and process group (`setsid(2)`); false when refused (a group leader).
    @discardableResult
    package static func startSession() -> Bool { setsid() != -1 }

    /// Locks all current and future memory (`mlockall(MCL_CURRENT | MCL_FUTURE)`), so the process
    /// never waits on paging; false when refused (no CAP_IPC_LOCK, a limit).
    @discardableResult
    package static func lockMemory() -> Bool { mlockall(Int32(MCL_CURRENT | MCL_FUTURE)) == 0 }

    /// Blocks the calling thread for `microseconds` (never call it on a cooperative thread).
    package static func sleep(microseconds: UInt32) { _ = usleep(microseconds) }

    /// Ends the process with `code` (`exit(3)`: atexit handlers and stdio flushing run).
    package static func exit(_ code: Int32) -> Never { Glibc.exit(code) }
}
