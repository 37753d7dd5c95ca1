import Glibc

/// One of a child's output pipes.
package enum OutputStream: Sendable, Hashable {
    case stdout
    case stderr
}

/// What one `ChildProcess.readOutput` call came back with.
package enum ReadProgress: Sendable, Hashable {
    /// Something happened: output was read, a stream reached its end, or the child exited.
    case progressed
    /// The deadline passed with nothing to read.
    case timedOut
    /// None of the asked streams is open any more and there was nothing else to watch.
    case closed
    /// `poll` itself failed (not EINTR).
    case failed
}

extension ChildProcess {
    /// The size of one read from a pipe.
    static let readChunk = 65_536

    /// True while `stream` has not reached its end and was not closed.
    package func isOpen(_ stream: OutputStream) -> Bool {
        state.withLock { !$0.ended(stream) && $0.open.contains(descriptor(stream)) }
    }

    /// True while stdout or stderr is still open.
    package var hasOpenOutput: Bool { isOpen(.stdout) || isOpen(.stderr) }

    /// Waits until one of `streams` is readable (or, with `watchExit`, the child exits) or the
    /// monotonic `deadline` passes, then reads once from each readable stream and hands the bytes to
    /// `sink`. A readable `wakeFD` (a `CancelSignal`'s) only ends the wait. A stream at its end is marked and not polled again. A deadline in the past reads only
    /// what is there already.
    ///
    /// Safety contract: returns by the deadline whatever the child does.
    package func readOutput(
        from streams: [OutputStream] = [.stdout, .stderr], until deadline: UInt64, watchExit: Bool = false,
        wakeFD: Int32 = -1, _ sink: (OutputStream, UnsafeRawBufferPointer) -> Void
    ) -> ReadProgress {
        let readable = streams.filter(isOpen)
        let watching = watchExit && !isGone
        let watchPidfd = watching && pidfd >= 0
        let sleepPolling = watching && pidfd < 0
        if readable.isEmpty && !watchPidfd && !sleepPolling { return .closed }
        var entries = readable.map { pollfd(fd: descriptor($0), events: Int16(POLLIN), revents: 0) }
        if watchPidfd { entries.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
        if wakeFD >= 0 { entries.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)) }
        let now = Sys.monotonicNanos()
        var timeoutMs: Int32 =
            deadline == .max ? -1 : Int32(clamping: (deadline > now ? deadline - now : 0) / 1_000_000)
        if deadline != .max && deadline > now { timeoutMs = timeoutMs &+ 1 }
        // No pidfd (kernel before 5.3): look for the exit every 10 ms.
        if sleepPolling { timeoutMs = timeoutMs < 0 ? 10 : min(timeoutMs, 10) }
        let rc = poll(&entries, nfds_t(entries.count), timeoutMs)
        if rc < 0 { return errno == EINTR ? .progressed : .failed }
        let exited = sleepPolling && reapIfExited() != nil
        guard rc > 0 else { return exited ? .progressed : .timedOut }
        for entry in entries where entry.revents != 0 {
            if entry.fd == pidfd {
                reapIfExited()
            } else if entry.fd == wakeFD {
                continue  // the caller looks at why it was woken
            } else {
                readOnce(entry.fd == stdoutFD ? .stdout : .stderr, sink)
            }
        }
        return .progressed
    }

    /// One `read` from `stream`: bytes go to `sink`; end of file or an error marks the stream ended.
    private func readOnce(_ stream: OutputStream, _ sink: (OutputStream, UnsafeRawBufferPointer) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: Self.readChunk, alignment: 1) { buffer in
            let n = read(descriptor(stream), buffer.baseAddress, buffer.count)
            if n > 0 {
                sink(stream, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                state.withLock { $0.markEnded(stream) }
            }
        }
    }

    /// Writes all of `bytes` to the child's stdin.
    /// - Throws: `SystemError` (EPIPE when the child has gone, EBADF without a stdin pipe).
    package func writeStdin(_ bytes: [UInt8]) throws(SystemError) {
        guard let fd = stdinFD, state.withLock({ $0.open.contains(fd) }) else {
            throw SystemError("write", "the child's stdin", errno: EBADF)
        }
        try Sys.writeAll(fd, bytes)
    }

    /// Closes the child's stdin: a child reading it sees end of file.
    package func closeStdin() {
        if let fd = stdinFD { closeDescriptor(fd) }
    }

    /// Closes this process's end of `stream` (a child writing to it later gets EPIPE).
    package func closeOutput(_ stream: OutputStream) {
        closeDescriptor(descriptor(stream))
    }

    /// Closes every pipe end still open: stdin, then stdout, then stderr. Idempotent.
    package func closePipes() {
        closeStdin()
        closeOutput(.stdout)
        closeOutput(.stderr)
    }

    private func closeDescriptor(_ fd: Int32) {
        let wasOpen = state.withLock { $0.remove(fd) }
        if wasOpen { close(fd) }
    }

    private func descriptor(_ stream: OutputStream) -> Int32 {
        stream == .stdout ? stdoutFD : stderrFD
    }
}
