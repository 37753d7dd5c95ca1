import CLinux
import Glibc

/// The calling process: its id, environment, session, malloc arenas, pauses and exit.
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

    /// Makes every thread of the process allocate from the one main malloc arena
    /// (`mallopt(M_ARENA_MAX, 1)`), so that no thread reserves a 64 MiB arena of its own; false
    /// when refused. For the small helper processes, before they start a thread.
    @discardableResult
    package static func useSingleMallocArena() -> Bool { snaporch_single_malloc_arena() == 1 }

    /// Blocks the calling thread for `microseconds` (never call it on a cooperative thread).
    package static func sleep(microseconds: UInt32) { _ = usleep(microseconds) }

    /// Ends the process with `code` (`exit(3)`: atexit handlers and stdio flushing run).
    package static func exit(_ code: Int32) -> Never { Glibc.exit(code) }
}
