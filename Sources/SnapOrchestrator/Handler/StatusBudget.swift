import Foundation
import SnapCore
import SnapSystem

/// Keeps the status documents within the size the guest agent accepts, whatever the plugins print.
///
/// The Linux guest agent refuses a status file over 128 KiB (`_MAX_STATUS_FILE_SIZE_IN_BYTES`, since
/// WALinuxAgent 2.2.53) and then truncates it field by field — code that fails on a null
/// `formattedMessage` and uploads no status for the whole VM. The status file carries the status blob
/// document inside `substatus[0].name`, so bounding the file bounds the blob as well:
/// **status file ≤ `fileLimit` (120 KiB) and status blob ≤ the file** (both under the agent's 128 KiB).
///
/// Trimming is deterministic and goes from the least to the most useful: first the plugins' output
/// tails (16 KiB, 4 KiB, 1 KiB, 256 bytes, none, each keeping the end of the output), then the report's
/// details (timeline, skipped mounts, per-step facts; error and reason sentences cut to 512 characters),
/// then the report itself and long messages. A trimmed report says so in `statusTrimmed`, with where
/// the full report is.
package enum StatusBudget {
    /// The bound kept for the status file (and so for the blob): 120 KiB, leaving room under the
    /// agent's 128 KiB for the `statusBlobUploadError` entry that is added after an upload failure.
    package static let fileLimit = 120 * 1024
    /// The guest agent's own limit (characters of the file; a byte count is never smaller).
    package static let agentLimit = 128 * 1024
    /// The marker put in a trimmed report.
    package static let marker =
        "trimmed to fit the 128 KiB status file (output tails first, then details); the full report is in the "
        + "log blob (logsBlobUri) and on the VM in /var/lib/snaporch/last-report.json (`snaporch report`)"

    /// Per-tail caps tried in order, in bytes.
    static let tailCaps = [16 * 1024, 4 * 1024, 1024, 256, 0]

    /// `status` as is when its file document fits `limit` bytes, else trimmed until it does.
    package static func fit(_ status: HandlerStatus, limit: Int = fileLimit) -> HandlerStatus {
        if size(status) <= limit { return status }
        var status = status
        let original = status.reportJSON.flatMap { text in
            try? JSONDecoder().decode(RunReport.self, from: Data(text.utf8))
        }
        if let original {
            for cap in tailCaps {
                status.reportJSON = marked(trimTails(original, to: cap))
                if size(status) <= limit { return status }
            }
            status.reportJSON = marked(trimDetails(trimTails(original, to: 0)))
            if size(status) <= limit { return status }
        }
        // Last resort: no report, short messages; the service still gets the code and the disks.
        status.reportJSON = nil
        status.message = cut(status.message, to: 1024)
        status.snapshotInfo = status.snapshotInfo?.map { disk in
            var disk = disk
            disk.errorMessage = cut(disk.errorMessage, to: 256)
            return disk
        }
        if size(status) > limit { status.snapshotInfo = nil }
        return status
    }

    /// The byte size of the status file document.
    package static func size(_ status: HandlerStatus) -> Int { status.fileDocument().utf8.count }

    static func trimTails(_ report: RunReport, to cap: Int) -> RunReport {
        var report = report
        for i in report.plugins.indices {
            if var pre = report.plugins[i].pre {
                pre.stdoutTail = tail(pre.stdoutTail, cap)
                pre.stderrTail = tail(pre.stderrTail, cap)
                report.plugins[i].pre = pre
            }
            if var post = report.plugins[i].post {
                post.stdoutTail = tail(post.stdoutTail, cap)
                post.stderrTail = tail(post.stderrTail, cap)
                report.plugins[i].post = post
            }
        }
        return report
    }

    static func trimDetails(_ report: RunReport) -> RunReport {
        var report = report
        report.timeline = []
        report.freeze.skipped = []
        for i in report.plugins.indices {
            report.plugins[i].pre = report.plugins[i].pre.map(trimDetails)
            report.plugins[i].post = report.plugins[i].post.map(trimDetails)
        }
        report.reasons = report.reasons.map { cut($0, to: 512) }
        report.errors = report.errors.map { entry in
            var entry = entry
            entry.message = cut(entry.message, to: 512)
            return entry
        }
        return report
    }

    static func trimDetails(_ step: StepReport) -> StepReport {
        var step = step
        step.details = nil
        step.error = step.error.map { cut($0, to: 512) }
        return step
    }

    /// The report JSON with the `statusTrimmed` marker as its first key.
    static func marked(_ report: RunReport) -> String {
        let json = JSONOutput.encode(report, pretty: false)
        let key = OrderedJSON.object([("statusTrimmed", .string(marker))]).serialized()
        guard json.hasPrefix("{"), json.count > 2 else { return json }
        return "{" + key.dropFirst().dropLast() + "," + json.dropFirst()
    }

    /// The last `cap` bytes of `text` (never splitting a character), marked when something was cut.
    static func tail(_ text: String, _ cap: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > cap else { return text }
        var start = bytes.count - cap
        while start < bytes.count, bytes[start] & 0xC0 == 0x80 { start += 1 }
        return "[\(start) bytes trimmed] " + String(decoding: bytes[start...], as: UTF8.self)
    }

    /// The first `count` characters of `text`, marked when something was cut.
    static func cut(_ text: String, to count: Int) -> String {
        text.count <= count ? text : String(text.prefix(count)) + " ... [trimmed]"
    }
}
