import Foundation
import SnapSystem

/// What `snaporch begin` came to.
package enum BeginOutcome: Sendable {
    /// The holder refused to run (another run holds the lock, the config): the message and exit code.
    case refused(String, exitCode: Int32)
    /// The system is quiesced; the holder waits for `end`.
    case quiesced(QuiescedReport)
    /// The run ended before the system was quiesced (a step with `on_failure: abort` failed, the
    /// holder died and was recovered): its report and exit code.
    case ended(RunReport, exitCode: Int32, note: String?)
    /// `begin` could not get an answer (the holder could not start, or did not report in time).
    case failed(String)
}

/// The `begin` side of a split-phase run: starts the detached holder and waits (bounded) for its
/// one answer on the readiness pipe.
package struct SplitBeginner: Sendable {
    let paths: Paths
    let environment: [String: String]

    /// Creates the begin side for this machine.
    package init(paths: Paths, environment: [String: String]) {
        self.paths = paths
        self.environment = environment
    }

    /// Starts the holder of `request` and returns once it says quiesced, refused or finished.
    ///
    /// Safety contract: returns within `budget.beginWait` whatever the holder does; a holder that
    /// has not answered by then is told to stop (SIGTERM: it runs the posts of what started), and
    /// its lease still bounds it.
    package func begin(_ request: HolderRequest, budget: SplitBudget) async -> BeginOutcome {
        let files = SplitFiles(paths: paths)
        let pipe: PipePair
        let pid: Int32
        do {
            try files.create()
            files.rotateLog()
            pipe = try PipePair()
            pid = try PosixSpawn.spawnDetached(
                executable: RunIdentity.selfExecutable, arguments: ["__holder"] + request.arguments,
                environment: environment, workingDirectory: "/", output: files.log, passing: pipe.writer)
        } catch {
            return .failed("cannot start the holder: \(error)")
        }
        pipe.writer.close()
        let wait = budget.beginWait
        let deadline = Poll.deadline(afterMilliseconds: wait.milliseconds)
        let event = await offload { () -> LineReader.Event in
            var reader = LineReader(fd: pipe.reader.rawValue, chunkSize: 65536)
            return reader.next(deadline: deadline)
        }
        switch event {
        case .line(let line):
            return answer(SplitMessage(line: line), pid: pid)
        case .timedOut:
            Signal.terminate.send(to: pid)
            return .failed(
                "the holder (pid \(pid)) did not report within \(SplitText.seconds(wait.milliseconds)) (the pre, hold "
                    + "and post budgets and a margin): told it to stop (SIGTERM); it runs the posts of what started")
        case .closed:
            return await holderGone(pid: pid)
        }
    }

    /// The holder's one message, as an outcome.
    private func answer(_ message: SplitMessage?, pid: Int32) -> BeginOutcome {
        guard let message else { return .failed("the holder (pid \(pid)) sent something that is not a message") }
        switch message.kind {
        case .refused: return .refused(message.message ?? "refused", exitCode: message.exitCode ?? RunExit.failed)
        case .quiesced:
            guard let report = message.quiesced else { return .failed("the holder's quiesce message is empty") }
            return .quiesced(report)
        case .finished:
            guard let report = message.report else { return .failed("the holder's final message is empty") }
            return .ended(report, exitCode: message.exitCode ?? RunExit.failed, note: message.message)
        case .end, .accepted: return .failed("the holder sent an unexpected '\(message.kind.rawValue)'")
        }
    }

    /// The holder closed the pipe without a word: it died before quiescing. Finish its duties now.
    private func holderGone(pid: Int32) async -> BeginOutcome {
        let files = SplitFiles(paths: paths)
        let state = files.load(SplitState.self, from: files.state).flatMap { $0.pid == pid ? $0 : nil }
        let (report, code, finished) = await SplitRecovery(paths: paths).holderDied(state, config: nil)
        let who = finished ? "its duties were finished" : "the run that holds the run lock now finishes its duties"
        return .ended(
            report, exitCode: code, note: "the holder (pid \(pid)) died before the system was quiesced; \(who)")
    }
}
