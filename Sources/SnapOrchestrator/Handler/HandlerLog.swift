import Foundation
import Glibc
import SnapCore
import SnapSystem

/// Appends lines to `<logFolder>/extension.log` (never inside a freeze window: the handler logs
/// before and after a run only).
package struct HandlerLog: Sendable {
    let file: String

    package init(folder: String) { file = folder + "/extension.log" }
    package init(paths: Paths) { file = paths.logDir + "/handler.log" }

    package func write(_ line: String) {
        let directory = (file as NSString).deletingLastPathComponent
        try? FileSystem.makeDirectory(directory)
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = "\(stamp) [snaporch \(Version.current)] \(Redactor().redact(line))\n"
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = try? Sys.writeAll(fd, Array(text.utf8))
        close(fd)
    }
}
