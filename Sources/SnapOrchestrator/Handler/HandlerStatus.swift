import Foundation
import SnapCore
import SnapSystem

/// The status documents of the extension protocol (reference §5.1–§5.2): the status blob (the
/// result the backup service reads) and the status file (what the guest agent reads).
package struct HandlerStatus: Sendable {
    package static let extensionName = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"

    /// One disk of `snapshotInfo`.
    package struct DiskInfo: Sendable, Hashable {
        package var isSuccessful: Bool
        package var snapshotUri: String?
        package var errorMessage: String
        package var blobUri: String
        /// The host path reports `isSuccessful` as a string, the guest path as a bool.
        package var successAsString: Bool
    }

    /// The `status` field of the documents.
    package enum State: String, Sendable, Codable, Hashable {
        /// A result (or, with code 4, the start of a run: see `transitioning(taskId:ticks:)`).
        case success
        /// A failure.
        case error
        /// Still running (the protocol's non-terminal status).
        case transitioning
    }

    /// `success`, `error` or `transitioning`.
    package var status: State
    package var code: Int
    package var message: String
    package var taskId: String
    /// 0 none, 1 filesystem, 2 application, 3 crash.
    package var snapshotConsistency: Int
    /// The first error code of the run (or the status code), for `vmHealthInfo` and telemetry.
    package var extErrorCode: Int
    package var commandStartTimeUTCTicks: String?
    package var telemetry: [(String, String)] = []
    package var snapshotInfo: [DiskInfo]?
    package var partitionCount = 0
    package var totalUsedSizeInBytes: Int64 = 0
    package var uniqueMachineId = ""
    /// Our run report, carried in `substatus` so that the service gets per-plugin/mount/disk detail.
    package var reportJSON: String?
    /// The restore records of the run (bounded, see `RestoreInfo.bounded()`), carried in their own
    /// `substatus` entry so that they reach the service even when the report has to be shortened.
    package var restoreJSON: String?
    /// V2 VMs get `success` as the file-level status of any terminal result (as the original does).
    package var isV2 = true
    package var timestamp = Date()

    package init(
        status: State, code: Int, message: String, taskId: String, snapshotConsistency: Int = 0,
        extErrorCode: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.taskId = taskId
        self.snapshotConsistency = snapshotConsistency
        self.extErrorCode = extErrorCode ?? code
    }

    /// The status written by enable and before the freeze while the daemon works: `success` with
    /// code 4 (`ExtensionTempTerminalState`), as the original writes it. The guest agent takes it
    /// as terminal, so the platform's extension operation (and every extension ordered after this
    /// one) is not held for the length of a backup; the backup service reads the real result from
    /// the status blob, where code 4 means "still running".
    package static func transitioning(taskId: String, ticks: String?) -> HandlerStatus {
        var s = HandlerStatus(
            status: .success, code: HandlerCode.transitioning.rawValue,
            message: "Transitioning state in extension", taskId: taskId)
        s.commandStartTimeUTCTicks = ticks
        return s
    }

    /// Health of a code: 0 green, 128 yellow, 256 red (reference §7).
    package static func health(_ code: Int) -> Int {
        switch code {
        case 0, 1, 2, 3, 4, 12, 13, 14, 17, 173: return 0
        case 15, 76, 85, 402, 556, 761: return 256
        default: return 128
        }
    }

    var formattedMessage: OrderedJSON {
        let inner = OrderedJSON.object([
            ("messageStr", .string(message)), ("snapshotConsistency", .int(Int64(snapshotConsistency))),
            ("jobMessage", .string("")), ("isSizeComputationFailed", .bool(false)),
        ])
        return .object([("lang", .string("en-US")), ("message", .string(inner.serialized()))])
    }

    var storageDetails: OrderedJSON {
        .object([
            ("partitionCount", .int(Int64(partitionCount))), ("totalUsedSizeInBytes", .int(totalUsedSizeInBytes)),
            ("isStoragespacePresent", .bool(false)), ("isSizeComputationFailed", .bool(false)),
        ])
    }

    var reportSubstatus: [OrderedJSON] {
        var entries: [OrderedJSON] = []
        for (name, json) in [("SnapOrchestratorReport", reportJSON), ("SnapOrchestratorRestore", restoreJSON)] {
            guard let json else { continue }
            entries.append(
                .object([
                    ("name", .string(name)), ("code", .string(String(code))), ("status", .string(status.rawValue)),
                    ("formattedMessage", .object([("lang", .string("en-US")), ("message", .string(json))])),
                ]))
        }
        return entries
    }

    /// The status blob: one line, an array of one element, keys in the original's order.
    package func blobDocument() -> String {
        let info: OrderedJSON =
            snapshotInfo.map { disks in
                .array(
                    disks.map { d in
                        .object([
                            (
                                "isSuccessful",
                                d.successAsString ? .string(d.isSuccessful ? "true" : "false") : .bool(d.isSuccessful)
                            ),
                            ("snapshotUri", .optional(d.snapshotUri)), ("errorMessage", .string(d.errorMessage)),
                            ("blobUri", .string(d.blobUri)), ("directDriveSnapshotIdentifier", .null),
                        ])
                    })
            } ?? .null
        let body = OrderedJSON.object([
            ("name", .string(Self.extensionName)), ("operation", .string("Enable")),
            ("status", .string(status.rawValue)),
            ("substatus", .array(reportSubstatus)), ("code", .string(String(code))), ("taskId", .string(taskId)),
            ("formattedMessage", formattedMessage), ("storageDetails", storageDetails),
            ("commandStartTimeUTCTicks", .optional(commandStartTimeUTCTicks)),
            ("telemetryData", .array(telemetry.map { .object([("Value", .string($0.1)), ("Key", .string($0.0))]) })),
            ("uniqueMachineId", .string(uniqueMachineId)), ("snapshotInfo", info),
            (
                "vmHealthInfo",
                .object([
                    ("vmHealthState", .int(Int64(Self.health(extErrorCode)))),
                    ("vmHealthStatusCode", .int(Int64(extErrorCode))),
                ])
            ),
        ])
        let millis = Int64((timestamp.timeIntervalSince1970 * 1000).rounded())
        return OrderedJSON.array([
            .object([("version", .string("1.0")), ("timestampUTC", .dotNetDate(millis)), ("status", body)])
        ])
        .serialized()
    }

    /// True for a result the guest agent and the service take as final (`success` or `error`).
    package var isTerminal: Bool { status != .transitioning }

    /// The status file: the blob document as `substatus[0].name`, telemetry and disks left out.
    ///
    /// As the original writes it for V2 VMs: a terminal result (errors included) is `success` at the
    /// file level and in `substatus[0]` (code `"0"`), and only the top-level `code` and the embedded
    /// blob document carry the error. Unlike the original, `substatus[0].formattedMessage` is never
    /// null (the guest agent fails on a null one when it has to truncate), and the run report is
    /// carried once (inside the blob document), so that `StatusBudget` can keep the file ≤ 128 KiB.
    package func fileDocument() -> String {
        let v2Terminal = isV2 && isTerminal
        let fileStatus = v2Terminal ? State.success : status
        let substatus: [OrderedJSON] = [
            .object([
                ("code", .string(v2Terminal ? "0" : String(code))), ("name", .string(blobDocument())),
                ("status", .string((v2Terminal ? State.success : status).rawValue)),
                ("formattedMessage", formattedMessage),
            ])
        ]
        let body = OrderedJSON.object([
            ("name", .string(Self.extensionName)), ("operation", .string("Enable")),
            ("status", .string(fileStatus.rawValue)),
            ("substatus", .array(substatus)), ("code", .string(String(code))), ("taskId", .string(taskId)),
            ("formattedMessage", formattedMessage), ("storageDetails", storageDetails),
            ("commandStartTimeUTCTicks", .optional(commandStartTimeUTCTicks)), ("telemetryData", .null),
            ("uniqueMachineId", .string(uniqueMachineId)), ("snapshotInfo", .null), ("vmHealthInfo", .null),
        ])
        return OrderedJSON.array([
            .object([
                ("version", .string("1.0")),
                ("timestampUTC", .string(UTCTimestamp(epochSeconds: timestamp.timeIntervalSince1970).iso8601)),
                ("status", body),
            ])
        ]).serialized()
    }
}
