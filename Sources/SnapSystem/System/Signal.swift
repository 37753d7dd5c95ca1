import Glibc

/// A POSIX signal, with the few operations the agent needs.
package struct Signal: RawRepresentable, Sendable, Hashable {
    /// The signal number.
    package var rawValue: Int32
    /// Wraps a signal number.
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// `SIGINT`.
    package static let interrupt = Signal(rawValue: SIGINT)
    /// `SIGTERM`.
    package static let terminate = Signal(rawValue: SIGTERM)
    /// `SIGHUP`.
    package static let hangup = Signal(rawValue: SIGHUP)
    /// `SIGPIPE`.
    package static let brokenPipe = Signal(rawValue: SIGPIPE)
    /// `SIGQUIT`.
    package static let quit = Signal(rawValue: SIGQUIT)
    /// `SIGTSTP`.
    package static let terminalStop = Signal(rawValue: SIGTSTP)
    /// `SIGKILL` (cannot be caught or ignored).
    package static let kill = Signal(rawValue: SIGKILL)

    /// Makes this process ignore `signals` (`SIG_IGN`; inherited across exec).
    package static func ignore(_ signals: [Signal]) {
        for signal in signals { _ = Glibc.signal(signal.rawValue, SIG_IGN) }
    }

    /// Sends the signal to process `pid`; nil when sent, else why not (`ESRCH`: no such process).
    @discardableResult
    package func send(to pid: Int32) -> Errno? {
        Glibc.kill(pid, rawValue) == 0 ? nil : Errno.current
    }

    /// Sends the signal to every process of group `pgid`; nil when sent, else why not.
    @discardableResult
    package func send(toGroup pgid: Int32) -> Errno? {
        Glibc.kill(-pgid, rawValue) == 0 ? nil : Errno.current
    }
}
