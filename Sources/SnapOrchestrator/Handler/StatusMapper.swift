import Foundation
import SnapCore
import SnapSystem

/// Turns a run report into the handler status of the extension protocol, with the codes the
/// original means to raise (reference §3.5, §7) and the consistency computed correctly.
package enum StatusMapper {
    /// `snapshotConsistency`: 0 none, 1 filesystem, 2 application, 3 crash.
    package static func consistencyNumber(_ c: RunReport.Consistency) -> Int {
        switch c {
        case .none: return 0
        case .filesystem: return 1
        case .application: return 2
        case .crash: return 3
        }
    }

    /// The terminal status of a run.
    /// - Parameter storage: partition count and used bytes (default: measured on this machine).
    package static func status(
        for report: RunReport, parameters: BackupParameters, storage: (partitions: Int, usedBytes: Int64)? = nil
    ) -> HandlerStatus {
        let firstError = report.errors.first
        var status: HandlerStatus
        if report.snapshot.taken {
            let appConsistent = report.consistency == .application && report.outcome == .success
            let code = appConsistent ? HandlerCode.successAppConsistent.rawValue : HandlerCode.success.rawValue
            let message =
                appConsistent
                ? "Enable Succeeded with App Consistent Snapshot"
                : "Enable Succeeded (\(report.consistency.rawValue)-consistent): "
                    + report.reasons.joined(separator: "; ")
            status = HandlerStatus(
                status: .success, code: code, message: message, taskId: parameters.taskId,
                snapshotConsistency: consistencyNumber(report.consistency),
                extErrorCode: firstError?.code.rawValue ?? code)
        } else {
            let code = snapshotFailureCode(report) ?? firstError?.code.rawValue ?? HandlerCode.error.rawValue
            let name = ErrorCode(rawValue: code)?.name ?? "error"
            let message = (firstError?.message ?? report.reasons.first ?? "no snapshot") + " StatusCode.\(name),"
            status = HandlerStatus(
                status: .error, code: code, message: message, taskId: parameters.taskId, extErrorCode: code)
        }
        status.commandStartTimeUTCTicks = parameters.commandStartTimeUTCTicks.map(String.init)
        status.isV2 = isV2(parameters.vmType)
        let storage = storage ?? StorageSize.measure()
        status.partitionCount = storage.partitions
        status.totalUsedSizeInBytes = storage.usedBytes
        status.snapshotInfo = report.snapshot.disks.map { disk in
            HandlerStatus.DiskInfo(
                isSuccessful: disk.ok, snapshotUri: disk.snapshot, errorMessage: disk.error ?? "",
                blobUri: disk.blob, successAsString: report.snapshot.provider == .host)
        }
        status.telemetry = telemetry(report, extErrorCode: status.extErrorCode)
        status.reportJSON = JSONOutput.encode(report, pretty: false)
        status.restoreJSON = restoreJSON(for: report)
        return status
    }

    /// The bounded restore records of `report` as one-line JSON, nil when it has none.
    package static func restoreJSON(for report: RunReport) -> String? {
        let restore = report.restorePoints.map { $0.bounded() }
        return restore.isEmpty ? nil : JSONOutput.encode(restore, pretty: false)
    }

    /// The same, from a stored report's JSON (the status of a duplicate task repeats it).
    package static func restoreJSON(reportJSON: String) -> String? {
        (try? JSONDecoder().decode(RunReport.self, from: Data(reportJSON.utf8))).flatMap { restoreJSON(for: $0) }
    }

    /// When pre steps went fine but the snapshot failed, the snapshot's own code (76, 85, 173) wins.
    static func snapshotFailureCode(_ report: RunReport) -> Int? {
        let preFailed = report.errors.contains { $0.code.isPrepost }
        if !preFailed, let code = report.snapshot.errorCode {
            // The original reports "some failed" (761) as 76 in the status code, 761 in vmHealthInfo.
            return code == .snapshotFailedRestrictedNetwork
                ? ErrorCode.snapshotFailedNoNetwork.rawValue : code.rawValue
        }
        return nil
    }

    /// Missing vmType is treated as V2 (Azure Resource Manager), the only kind still deployed.
    package static func isV2(_ vmType: String?) -> Bool {
        guard let vmType else { return true }
        return vmType.lowercased() != "microsoft.classiccompute/virtualmachines"
    }

    static func telemetry(_ report: RunReport, extErrorCode: Int) -> [(String, String)] {
        let kernel = Kernel.release()
        var pairs: [(String, String)] = [
            ("snaporchVersion", Version.current),
            ("platformArchitecture", "64bit"),
            ("isPrePostEnabled", report.plugins.isEmpty ? "false" : "true"),
            ("snapshotCreator", report.snapshot.provider == .host ? "backupHostService" : "guestExtension"),
        ]
        if let us = report.freeze.windowUs { pairs.append(("FreezeTime", dotNetSpan(microseconds: us))) }
        if let us = thawMicroseconds(report) { pairs.append(("ThawTime", dotNetSpan(microseconds: us))) }
        pairs.append(("freezeWindowMs", String(report.freeze.windowMs ?? 0)))
        if let snapshot = report.timeline.first(where: { $0.step == .snapshot }) {
            pairs.append(("snapshotTimeTaken", dotNetSpan(microseconds: (snapshot.endMs - snapshot.startMs) * 1000)))
        }
        pairs.append(
            (
                "extErrorCode",
                ErrorCode(rawValue: extErrorCode)?.name ?? (extErrorCode == 0 ? "success_appconsistent" : "success")
            ))
        // The original's workload (database) path sets this one; its plugin path sets isPrePostEnabled.
        let databases = report.plugins.contains { $0.type == "mysql" || $0.type == "postgres" }
        pairs.append(("prePostEnabled", databases ? "True" : "False"))
        pairs.append(("consistencyType", report.consistency.rawValue))
        pairs.append(("kernelVersion", kernel))
        pairs.append(("pluginCount", String(report.plugins.count)))
        return pairs
    }

    /// How long the thaw took: from the end of the snapshot calls to the end of the freeze window.
    static func thawMicroseconds(_ report: RunReport) -> Int? {
        guard let window = report.timeline.last(where: { $0.step == .freezeWindow }) else { return nil }
        let snapshotEnd = report.timeline.last(where: { $0.step == .snapshot })?.endMs ?? window.startMs
        return max(window.endMs - snapshotEnd, 0) * 1000
    }

    /// Python's timedelta text, as the original reports durations: `0:00:01.203000`.
    static func dotNetSpan(microseconds: Int) -> String {
        let total = max(microseconds, 0)
        let seconds = total / 1_000_000, micro = total % 1_000_000
        let micros = String(micro).leftPadded(6).replacing(" ", with: "0")
        return
            "\(seconds / 3600):\(String(seconds / 60 % 60).leftPadded(2).replacing(" ", with: "0")):\(String(seconds % 60).leftPadded(2).replacing(" ", with: "0")).\(micros)"
    }
}
