import Glibc

/// Starts a detached POSIX thread on a small stack of its own that is locked in memory first.
///
/// Foundation's `Thread` pulls Foundation into a process that otherwise needs none, and a default
/// thread stack is 8 MiB; the freeze guard runs one thread per mount while filesystems are frozen,
/// and every byte it touches must already be resident. The stack (plus a guard page below it) is
/// mapped, locked and populated before the thread starts, and is never unmapped: the threads of
/// the guard live as long as the process.
package enum LockedStackThread {
    /// Starts `body` on a new thread with a `stackBytes` stack; false when the thread could not start.
    @discardableResult
    package static func start(stackBytes: Int = 64 << 10, _ body: @escaping @Sendable () -> Void) -> Bool {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (stackBytes + page - 1) / page * page
        let mapping = mmap(nil, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { return false }
        _ = mprotect(mapping, page, PROT_NONE)  // overflow faults instead of corrupting memory
        let stack = mapping + page
        _ = mlock(stack, size)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstack(&attributes, stack, size)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        guard ThreadEntry.create(attributes: &attributes, name: nil, body) else {
            munmap(mapping, size + page)
            return false
        }
        return true
    }
}
