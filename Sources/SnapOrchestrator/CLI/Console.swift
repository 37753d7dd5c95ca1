import Foundation
import Glibc

/// Where the CLI writes: stdout, stderr, and whether each is a terminal (for colour).
public struct Console: Sendable {
    /// Creates the console of this process.
    public init() {}

    /// Writes `text` to standard output.
    public func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Writes `text` to standard error.
    public func err(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// True when standard error is a terminal and `NO_COLOR` is unset.
    public var colorOnStderr: Bool {
        isatty(2) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}
