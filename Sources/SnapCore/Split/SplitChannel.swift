import Foundation
import SnapSystem
import Synchronization

/// The holder's end of the control socket (`/run/snaporch/split/control.sock`, root only): it waits
/// for `snaporch end` inside the window, and answers every `end` with the final report.
///
/// Safety contract: every wait has a deadline; a peer that is not root (or this process's user) is
/// refused; nothing is written to a disk.
package final class SplitChannel: PlatformEndSource, Sendable {
    private let listener: FileDescriptor
    let path: String
    /// Reports a signal that stops the wait (the holder's interrupts).
    let interruption: @Sendable () -> Int32?
    /// When the system was quiesced (monotonic ns), once known: `markQuiesced`, else the start
    /// of the wait.
    let quiescedAt = Atomic<UInt64>(0)
    /// The connections of `end` callers waiting for the final report.
    private let waiting = Mutex<[FileDescriptor]>([])

    /// Listens at `path` (0600; a stale socket there is replaced).
    package init(path: String, interruption: @escaping @Sendable () -> Int32?) throws(SystemError) {
        self.path = path
        self.listener = try UnixSocket.listen(at: path, mode: 0o600)
        self.interruption = interruption
    }

    /// Records the instant of the quiesce, before anyone is told of it: an `end` sent later is
    /// never taken for one sent before the quiesce.
    package func markQuiesced() {
        _ = quiescedAt.compareExchange(expected: 0, desired: Sys.monotonicNanos(), ordering: .relaxed)
    }

    package func waitForEnd(deadlineNanos: UInt64) async -> PlatformEnd {
        markQuiesced()
        return await offload { [self] in self.poll(until: deadlineNanos) }
    }

    /// Polls the listener in short slices (a signal is noticed within 200 ms) until an `end` comes.
    /// Once the deadline has passed it looks one last time: an `end` sent before the deadline that
    /// this process reads late (it was stopped, the VM paused, the CPU busy) still ends the window;
    /// one sent after it does not.
    private func poll(until deadline: UInt64) -> PlatformEnd {
        FaultPoint.hit("split-wait")
        while true {
            if let signal = interruption() { return .interrupted(signal) }
            let now = Sys.monotonicNanos()
            guard now < deadline else { return lastLook(deadline) ?? .deadlinePassed }
            let slice = min(deadline, now + 200_000_000)
            guard case .readable = Poll.waitReadable(listener.rawValue, deadline: slice) else { continue }
            while Sys.monotonicNanos() < deadline, let connection = UnixSocket.accept(listener) {
                if let end = receive(connection, until: deadline) { return end }
            }
        }
    }

    /// The `end` requests already queued at the deadline (bounded: eight connections, each read
    /// without waiting); the first one sent before `deadline` counts, the others get the final
    /// report from `finish`. An in-time `end` queued behind eight others is not seen.
    private func lastLook(_ deadline: UInt64) -> PlatformEnd? {
        for _ in 0..<8 {
            guard let connection = UnixSocket.accept(listener) else { return nil }
            if let end = receive(connection, until: deadline, sentBefore: deadline) { return end }
        }
        return nil
    }

    /// Reads the `end` request of one connection (bounded: 2 s, and never past the window's
    /// `deadline`: a client that connects and stays silent must not stretch the window); nil when
    /// it is not one (then the connection is closed), or, at the last look (`sentBefore`), when it
    /// was sent at or after `sentBefore` or has not arrived yet (then it waits for the final report
    /// with the others).
    private func receive(_ connection: FileDescriptor, until deadline: UInt64, sentBefore: UInt64? = nil)
        -> PlatformEnd?
    {
        let me = FileInfo.effectiveUserID
        guard let uid = UnixSocket.peerUser(connection), uid == 0 || uid == me else {
            send(.refused("only root may end a split run", exitCode: 2), to: connection)
            connection.close()
            return nil
        }
        var reader = LineReader(fd: connection.rawValue)
        let event = reader.next(deadline: min(Poll.deadline(afterMilliseconds: 2000), deadline))
        guard case .line(let line) = event, let request = SplitMessage(line: line), request.kind == .end else {
            if sentBefore != nil, event == .timedOut {
                // Its request is not there yet at the last look: it gets the final report, as a late `end`.
                waiting.withLock { $0.append(connection) }
            } else {
                connection.close()
            }
            return nil
        }
        if let sentBefore, (request.sentAtNanos ?? .max) >= sentBefore {
            // Too late for this window: it gets the final report with the others.
            waiting.withLock { $0.append(connection) }
            return nil
        }
        var accepted = SplitMessage(.accepted)
        let quiesced = quiescedAt.load(ordering: .relaxed)
        let early = quiesced > 0 && (request.sentAtNanos ?? quiesced) < quiesced
        accepted.message = "closing the window: thaw, releases and posts run now"
        send(accepted, to: connection)
        waiting.withLock { $0.append(connection) }
        if early {
            return .snapshotFailed("`end` was sent before the system was quiesced; its snapshot cannot be trusted")
        }
        if let reason = request.snapshotFailed { return .snapshotFailed(reason) }
        return .snapshotTaken
    }

    /// Answers every waiting `end`, and any that is still queued, with the final report; runs
    /// `beforeClosing` (told whether at least one `end` received it), then closes the connections
    /// and the socket. An `end` returns on the close, so what `beforeClosing` does (letting go of
    /// the run lock) is done when it returns. Returns whether at least one `end` received it.
    package func finish(_ message: SplitMessage, beforeClosing: (Bool) -> Void = { _ in }) -> Bool {
        while let connection = UnixSocket.accept(listener) {
            var reader = LineReader(fd: connection.rawValue)
            if case .line(let line) = reader.next(deadline: Poll.deadline(afterMilliseconds: 500)),
                SplitMessage(line: line)?.kind == .end
            {
                waiting.withLock { $0.append(connection) }
            } else {
                connection.close()
            }
        }
        let connections = waiting.withLock { list in
            defer { list = [] }
            return list
        }
        listener.close()
        _ = FileSystem.remove(path)
        var delivered = false
        for connection in connections {
            if send(message, to: connection) { delivered = true }
        }
        beforeClosing(delivered)
        for connection in connections { connection.close() }
        return delivered
    }

    /// Sends one message, bounded (2 s): a stopped or vanished `end` never holds the holder.
    @discardableResult
    private func send(_ message: SplitMessage, to connection: FileDescriptor) -> Bool {
        BoundedWrite.writeAll(connection, message.line, deadline: Poll.deadline(afterMilliseconds: 2000)) == nil
    }
}
