import Foundation
import SnapCore
import SnapSystem

/// Where the CLI writes: stdout, stderr, and whether each is a terminal (for colour).
package struct Console: Sendable {
    /// Creates the console of this process.
    package init() {}

    /// Writes `text` to standard output.
    package func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// Writes `text` to standard error.
    package func err(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// True when standard error is a terminal and `NO_COLOR` is unset.
    package var colorOnStderr: Bool {
        FileDescriptor.standardError.isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}
