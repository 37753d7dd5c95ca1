import Foundation
import SnapSystem

/// One live database client session (`mariadb` or `psql`) driven as a co-process over pipes.
///
/// Each statement is followed by a sentinel `SELECT '<marker>-N';`; the answer is complete when
/// the sentinel line arrives on stdout, and the statement failed when an error line reached stderr
/// before it (one poll loop over both pipes, so the order holds). The session — and with it any
/// lock or backup it holds — ends when the client's stdin closes, including when this process dies.
///
/// `@unchecked Sendable`: used by one plugin step at a time; every call blocks on its own thread.
final class SQLSession: @unchecked Sendable {
    /// What a statement produced.
    enum Answer: Equatable {
        case rows([[String]])
        /// The server reported an error (the session is still usable).
        case error(String)
        /// The client exited or the connection is gone.
        case lost(String)
        case timedOut

        /// True for an answer with rows (the statement ran).
        var isRows: Bool {
            if case .rows = self { return true }
            return false
        }
    }

    let child: ChildProcess
    let marker: String
    let separator: Character
    let errorPattern: (String) -> Bool
    private var counter = 0
    private var stdoutBuffer: [UInt8] = []
    private var stderrBuffer: [UInt8] = []
    private var closed = false
    /// After a timeout the late answer would be read as the next statement's: no more statements.
    private var poisoned = false
    /// Bounds on what one answer may hold.
    static let maxRows = 10_000
    static let maxBuffer = 4 << 20

    init(child: ChildProcess, marker: String, separator: Character, errorPattern: @escaping (String) -> Bool) {
        self.child = child
        self.marker = marker
        self.separator = separator
        self.errorPattern = errorPattern
    }

    /// Starts the client; its stdin, stdout and stderr are pipes to this process.
    static func start(
        executable: String, arguments: [String], environment: [String: String], marker: String, separator: Character,
        errorPattern: @escaping (String) -> Bool
    ) throws(ProcessError) -> SQLSession {
        let child = try ChildProcess.spawn(
            executable: executable, arguments: arguments, environment: environment, workingDirectory: "/",
            stdinPipe: true)
        return SQLSession(child: child, marker: marker, separator: separator, errorPattern: errorPattern)
    }

    /// Runs one statement (a single line, ending with `;`) and waits for its sentinel.
    func execute(_ statement: String, timeout: TimeSpan) -> Answer {
        guard !closed, !poisoned, child.stdinFD != nil else { return .lost("the session is closed") }
        counter += 1
        let sentinel = "\(marker)-\(counter)"
        stderrBuffer.removeAll()
        let text = statement.replacing("\n", with: " ") + "\nSELECT '\(sentinel)';\n"
        do {
            try child.writeStdin(Array(text.utf8))
        } catch {
            // The client already exited (a refused connection, bad credentials): what it said on
            // stderr is the cause, not the broken pipe — and the same on every run.
            return .lost(exitReason(within: .seconds(2)) ?? "cannot write to the client: \(error.reason)")
        }
        var rows: [[String]] = []
        let end = Sys.monotonicNanos() + UInt64(timeout.milliseconds) * 1_000_000
        while true {
            // Complete lines on stdout: rows until the sentinel.
            while let newline = stdoutBuffer.firstIndex(of: 0x0A) {
                let line = String(decoding: stdoutBuffer[..<newline], as: UTF8.self)
                stdoutBuffer.removeSubrange(...newline)
                if line == sentinel {
                    drainStderr()
                    if let error = errorLines().first { return .error(error) }
                    return .rows(rows)
                }
                rows.append(line.split(separator: separator, omittingEmptySubsequences: false).map(String.init))
            }
            if let unfinished = check(rows: rows.count, end: end) { return unfinished }
            let progress = child.readOutput(until: end) { stream, bytes in
                if stream == .stdout { stdoutBuffer += bytes } else { stderrBuffer += bytes }
            }
            if progress == .failed { return .lost("cannot read from the client") }
            // A lost connection shows on stderr while the sentinel never comes.
            if let lost = errorLines().first(where: Self.isConnectionLoss) { return .lost(lost) }
        }
    }

    /// Why an answer still waiting for its sentinel must end now (deadline, size, client gone); nil
    /// to go on reading.
    private func check(rows: Int, end: UInt64) -> Answer? {
        if Sys.monotonicNanos() >= end {
            poisoned = true
            return .timedOut
        }
        if stdoutBuffer.count > Self.maxBuffer || rows > Self.maxRows {
            poisoned = true
            return .error("the answer is larger than \(Self.maxRows) rows / \(Self.maxBuffer >> 20) MiB")
        }
        if stderrBuffer.count > Self.maxBuffer { stderrBuffer.removeFirst(stderrBuffer.count - Self.maxBuffer / 2) }
        if !child.hasOpenOutput {
            let reason = errorLines().first ?? String(decoding: stderrBuffer.suffix(300), as: UTF8.self).trimmingSpaces
            return .lost(reason.isEmpty ? "the client exited" : reason)
        }
        return nil
    }

    /// After the client went away: its error line (or the tail of its stderr), read up to EOF or
    /// `timeout`; nil when it said nothing.
    private func exitReason(within timeout: TimeSpan) -> String? {
        let end = Sys.monotonicNanos() + UInt64(timeout.milliseconds) * 1_000_000
        while stderrBuffer.count < Self.maxBuffer, Sys.monotonicNanos() < end,
            child.readOutput(from: [.stderr], until: end, { stderrBuffer += $1 }) == .progressed
        {}
        let reason = errorLines().first ?? String(decoding: stderrBuffer.suffix(300), as: UTF8.self).trimmingSpaces
        return reason.isEmpty ? nil : reason
    }

    /// Reads whatever stderr holds right now without waiting.
    private func drainStderr() {
        while stderrBuffer.count < Self.maxBuffer,
            child.readOutput(from: [.stderr], until: 0, { stderrBuffer += $1 }) == .progressed
        {}
    }

    private func errorLines() -> [String] {
        String(decoding: stderrBuffer, as: UTF8.self).split(separator: "\n").map(String.init).filter(errorPattern)
    }

    static func isConnectionLoss(_ line: String) -> Bool {
        line.contains("ERROR 2006") || line.contains("ERROR 2013") || line.contains("connection to server was lost")
            || line.contains("server closed the connection unexpectedly")
    }

    /// Closes stdin (the client ends the session and exits), waits up to `timeout`, then kills it.
    /// - Returns: how the client ended.
    @discardableResult
    func close(timeout: TimeSpan = .seconds(5)) -> TerminationStatus? {
        guard !closed else { return nil }
        closed = true
        child.closeStdin()
        // The whole group: with os_user the client runs under runuser.
        let status = child.terminate([.wait(timeout), TeardownStep(signal: SIGKILL, allowed: .seconds(2))])
        child.closePipes()
        return status ?? .signaled(SIGKILL)
    }

    deinit { self.close(timeout: .milliseconds(500)) }
}

extension SQLSession.Answer {
    /// The rows of an answer, or a failure naming the step.
    func rows(_ step: String) throws(DatabaseFailure) -> [[String]] {
        switch self {
        case .rows(let r): return r
        case .error(let e): throw DatabaseFailure(step.isEmpty ? e : "\(step): \(e)")
        case .lost(let e): throw DatabaseFailure("\(step.isEmpty ? "" : "\(step): ")session lost: \(e)")
        case .timedOut: throw DatabaseFailure("\(step) timed out")
        }
    }
}

extension SQLSession? {
    /// nil when the session still answers after the window, else why its hold is gone.
    /// - Parameter statement: what to run (it must answer; it may re-arm a timeout first).
    func stillHolding(what: String, consequence: String, statement: String = "SELECT 1;") -> String? {
        guard let session = self else { return "the \(what) is not open" }
        switch session.execute(statement, timeout: .seconds(5)) {
        case .rows: return nil
        case .error(let e), .lost(let e): return "the \(what) ended during the window (\(e)): \(consequence)"
        case .timedOut: return "the \(what) did not answer after the window"
        }
    }
}
