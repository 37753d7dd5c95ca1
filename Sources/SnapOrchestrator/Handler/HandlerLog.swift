import Foundation
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
        let stamp = UTCTimestamp.now().iso8601
        let text = "\(stamp) [snaporch \(Version.current)] \(Redactor().redact(line))\n"
        guard let fd = try? FileDescriptor.open(file, [.writeOnly, .create, .append], mode: 0o600) else { return }
        defer { fd.close() }
        try? fd.writeAll(Array(text.utf8))
    }
}
