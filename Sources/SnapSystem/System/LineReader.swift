/// Reads newline-terminated lines from a pipe with a deadline: the one line reader of the agent
/// (the guard's and the watchdog's command pipes, and the orchestrator's ends of their replies).
///
/// It does not own the descriptor. Bytes after a line stay buffered for the next call.
package struct LineReader: Sendable {
    /// What `next(deadline:)` found.
    package enum Event: Sendable, Hashable {
        /// A line, without its newline (may be empty).
        case line(String)
        /// End of file or a read error: the writer is gone.
        case closed
        /// The deadline passed before a whole line arrived.
        case timedOut
    }

    /// The descriptor read from.
    package let fd: Int32
    private let descriptor: FileDescriptor
    private var pending: [UInt8] = []
    private let chunkSize: Int

    /// A reader of `fd` that reads up to `chunkSize` bytes at a time.
    package init(fd: Int32, chunkSize: Int = 4096) {
        self.fd = fd
        self.descriptor = FileDescriptor(borrowing: fd)
        self.chunkSize = chunkSize
    }

    /// The next line, waiting until the monotonic `deadline` (ns; nil: no deadline).
    ///
    /// Safety contract: returns by the deadline (plus scheduling latency) whatever the writer does;
    /// a writer that never writes, or writes half a line, gets `.timedOut`. A line already in the
    /// pipe is returned even when the deadline has passed (see `Poll.waitReadable`).
    package mutating func next(deadline: UInt64?) -> Event {
        var lastLook = false
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return .line(line)
            }
            // Past the deadline: one more read of what is there, never more (a writer that keeps
            // sending bytes without a newline cannot stretch the deadline).
            if lastLook { return .timedOut }
            if let deadline, Sys.monotonicNanos() >= deadline { lastLook = true }
            switch Poll.waitReadable(fd, deadline: deadline) {
            case .timedOut: return .timedOut
            case .failed: return .closed
            case .readable: break
            }
            do {
                let bytes = try descriptor.read(upTo: chunkSize)
                if bytes.isEmpty { return .closed }
                pending += bytes
            } catch  where error.code == .wouldBlock {
                continue
            } catch {
                return .closed
            }
        }
    }

    /// The next line within `timeoutMs`, or nil at end of file, on error or at the deadline.
    package mutating func readLine(timeoutMs: Int) -> String? {
        if case .line(let line) = next(deadline: Poll.deadline(afterMilliseconds: timeoutMs)) { return line }
        return nil
    }
}
