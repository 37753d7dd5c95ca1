import Foundation
import SnapSystem

/// What `snaporch end` came to.
package enum EndOutcome: Sendable {
    /// No split run in progress and none left to collect: a no-op.
    case nothing(String)
    /// The run finished: its report, exit code and a note (a late `end`, a dead holder).
    case finished(RunReport, exitCode: Int32, note: String?)
    /// `end` could not reach the holder and could not finish the run either.
    case failed(String)
}

/// The `end` side of a split-phase run: tells the holder over the control socket, waits (bounded)
/// for the final report and for the holder to let go of the run lock; finishes the run itself
/// when the holder died; reports a run that already ended on its own.
package struct SplitEnder: Sendable {
    let paths: Paths
    var files: SplitFiles { SplitFiles(paths: paths) }

    /// Creates the end side for this machine.
    package init(paths: Paths) { self.paths = paths }

    /// Ends the split run in progress; `snapshotFailed` says the platform's snapshot failed.
    /// `repeatWithin`: for a platform that retries a failed call (AWS DLM and its post-script), an
    /// `end` with nothing in progress gives the result of `caller`'s last split run again when that
    /// run ended within this span, instead of a no-op that would turn the failed call into a success.
    ///
    /// Safety contract: waits at most until the holder's own latest finish (`finishByMonotonicMs`)
    /// plus 30 s, whatever the holder does.
    package func end(snapshotFailed: String?, caller: String?, repeatWithin: TimeSpan? = nil) async -> EndOutcome {
        SplitPending(paths: paths).storeAll()
        guard let state = files.load(SplitState.self, from: files.state) else {
            return collectLast(repeatingFor: caller, within: repeatWithin)
        }
        var request = SplitMessage(.end)
        request.snapshotFailed = snapshotFailed
        request.caller = caller
        request.sentAtNanos = Sys.monotonicNanos()
        let waitMs = Self.waitMilliseconds(state)
        let deadline = Poll.deadline(afterMilliseconds: waitMs)
        let socket = files.socket
        let message = request
        let answer = await offload { Self.exchange(message, socket: socket, deadline: deadline) }
        switch answer {
        case .finished(let message):
            markCollected(state.runId)
            return .finished(
                message.report ?? RunReport(runId: state.runId, taskId: state.runId),
                exitCode: message.exitCode ?? RunExit.failed, note: message.message)
        case .refused(let text):
            return .failed(text)
        case .unreachable(let reason), .lost(let reason):
            return await holderLost(state, reason: reason)
        case .timedOut:
            return .failed(
                "the holder (pid \(state.pid)) of split run \(state.runId) took the request but sent no report within "
                    + "\(SplitText.seconds(waitMs)); see \(files.log)")
        }
    }

    /// How long `end` waits for the holder of `state`: until the holder's latest finish, plus 30 s.
    static func waitMilliseconds(
        _ state: SplitState, nowEpochMs: Int64 = Sys.epochMillis(),
        nowMonotonicMs: UInt64 = Sys.monotonicNanos() / 1_000_000
    ) -> Int {
        let remaining: Int
        if let finishBy = state.finishByMonotonicMs {
            remaining = finishBy > nowMonotonicMs ? Int(finishBy - nowMonotonicMs) : 0
        } else {
            remaining = max(Int(state.finishByEpochMs - nowEpochMs), 0)
        }
        return remaining + 30_000
    }

    /// The holder cannot be reached or went away mid-answer: wait (bounded) for it to be gone, then
    /// finish the run, unless it recorded its own ending meanwhile.
    private func holderLost(_ state: SplitState, reason: String) async -> EndOutcome {
        let clock = SystemClock()
        let until = clock.deadline(after: .seconds(5))
        while state.holderAlive && clock.now < until { await clock.sleep(for: .milliseconds(50)) }
        if state.holderAlive {
            return .failed(
                "the holder (pid \(state.pid)) of split run \(state.runId) is alive but does not answer (\(reason)); "
                    + "its lease still bounds it; see \(files.log)")
        }
        if let last = files.load(SplitLast.self, from: files.last), last.runId == state.runId {
            return collectLast()
        }
        let (report, code, finished) = await SplitRecovery(paths: paths).holderDied(state, config: nil)
        let who = finished ? "`end` finished its duties" : "the run that holds the run lock now finishes its duties"
        return .finished(report, exitCode: code, note: "the holder (pid \(state.pid)) died (\(reason)); \(who)")
    }

    /// No holder runs: report the last split run if nobody collected it yet (or, for a retried
    /// call, again), else a no-op.
    private func collectLast(repeatingFor caller: String? = nil, within span: TimeSpan? = nil) -> EndOutcome {
        guard let last = files.load(SplitLast.self, from: files.last) else {
            return .nothing("no split run in progress: nothing to end")
        }
        if last.collected {
            if let span, let caller, let again = Self.repeated(last, caller: caller, within: span) { return again }
            return .nothing("no split run in progress: nothing to end")
        }
        markCollected(last.runId)
        let lease = last.report?.split?.leaseMs
        var note =
            "the split run \(last.runId) already ended at \(last.endedAt): \(last.ending.describe(leaseMs: lease))"
        if last.ending == .leaseExpired { note += "; released holds, thawed, ran posts" }
        note += "; report: \(last.reportPath ?? "none")"
        if !last.stored { note += " (kept under /run: the state directory may have been frozen)" }
        return .finished(
            last.report ?? RunReport(runId: last.runId, taskId: last.runId), exitCode: last.exitCode, note: note)
    }

    /// The result of `last` once more, when `caller` began it and it ended within `span`.
    static func repeated(_ last: SplitLast, caller: String, within span: TimeSpan, now: Date = Date()) -> EndOutcome? {
        guard last.report?.split?.caller == caller, let ended = SplitText.date(last.endedAt),
            now.timeIntervalSince(ended) <= Double(span.milliseconds) / 1000
        else { return nil }
        let how = last.ending.describe(leaseMs: last.report?.split?.leaseMs)
        let note =
            "the split run \(last.runId) already ended at \(last.endedAt) (\(how)) and its result was collected; "
            + "a call repeated within \(SplitText.seconds(span.milliseconds)) gets the same result (exit \(last.exitCode))"
        return .finished(
            last.report ?? RunReport(runId: last.runId, taskId: last.runId), exitCode: last.exitCode, note: note)
    }

    private func markCollected(_ runId: String) {
        guard var last = files.load(SplitLast.self, from: files.last), last.runId == runId else { return }
        last.collected = true
        try? files.save(last, to: files.last)
    }

    /// What the exchange with the holder gave.
    enum Answer: Sendable {
        case finished(SplitMessage)
        case refused(String)
        case unreachable(String)
        case lost(String)
        case timedOut
    }

    /// After the final report, waits (bounded) for the holder to close the connection: it does so
    /// once it has let go of the run lock, so the next run can start when `end` returns.
    private static func awaitRelease(_ reader: inout LineReader, deadline: UInt64) {
        while case .line = reader.next(deadline: deadline) {}
    }

    /// Connects, sends the request, reads until the final report (or EOF, or the deadline).
    static func exchange(_ request: SplitMessage, socket: String, deadline: UInt64) -> Answer {
        let connection: FileDescriptor
        do {
            connection = try UnixSocket.connect(to: socket, until: deadline)
        } catch {
            return .unreachable("cannot connect to \(socket): \(error.reason)")
        }
        defer { connection.close() }
        if BoundedWrite.writeAll(connection, request.line, deadline: Poll.deadline(afterMilliseconds: 2000)) != nil {
            return .lost("the control socket closed before the request was sent")
        }
        var reader = LineReader(fd: connection.rawValue, chunkSize: 65536)
        while true {
            switch reader.next(deadline: deadline) {
            case .timedOut: return .timedOut
            case .closed: return .lost("the control socket closed before the final report")
            case .line(let line):
                guard let message = SplitMessage(line: line) else { continue }
                switch message.kind {
                case .finished:
                    awaitRelease(&reader, deadline: min(deadline, Poll.deadline(afterMilliseconds: 10_000)))
                    return .finished(message)
                case .refused: return .refused(message.message ?? "refused")
                default: continue
                }
            }
        }
    }
}
