import Foundation
import SnapCore
import SnapSystem

/// The parameters of one backup command, from the public and protected settings (reference §2).
package struct BackupParameters: Sendable, Hashable {
    package var taskId: String = ""
    package var commandToExecute: String = ""
    /// .NET ticks (100 ns since 0001-01-01) of the command's start.
    package var commandStartTimeUTCTicks: Int64?
    package var locale: String?
    package var vmType: String?
    /// `backupMetadata` pairs: x-ms-meta headers (guest) / snapshotMetadata (host).
    package var backupMetadata: [(key: String, value: String)] = []
    /// Per-disk blob SAS URIs (protected objectStr `blobSASUri`).
    package var blobSASUris: [SASURI] = []
    /// LUNs to snapshot on the host path (-1: OS disk).
    package var diskIds: [Int] = []
    package var snapshotTaskToken: String = ""
    package var statusBlobUri: SASURI?
    package var logsBlobUri: SASURI?
    /// `customSettings.takeSnapshotFrom`, already validated.
    package var snapshotMethod: SnapshotMethod = .firstHostThenGuest
    /// `customSettings.backupTaskId` (host calls) when given.
    package var backupTaskId: String?
    /// Well-known dynamic flags from `dynamicConfigsFromCRP`.
    package var dynamicFlags: [String: Bool] = [:]
    package var instantAccessDurationMinutes: Int?
    /// Findings that did not stop parsing (an unknown takeSnapshotFrom, a bad customSettings).
    package var warnings: [String] = []

    package static func == (lhs: BackupParameters, rhs: BackupParameters) -> Bool {
        lhs.taskId == rhs.taskId && lhs.commandToExecute == rhs.commandToExecute && lhs.blobSASUris == rhs.blobSASUris
            && lhs.diskIds == rhs.diskIds && lhs.backupMetadata.map(\.key) == rhs.backupMetadata.map(\.key)
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(taskId) }

    package init() {}

    static let wellKnownFlags = [
        "isSnapshotTtlEnabled", "useMccfToFetchDsasForAllDisks", "useMccfForLad",
        "EnableVMSnapshotExtensionPolling",
    ]

    /// Parses settings JSON; throws a code-11 error naming the field for anything unusable.
    package static func parse(publicJSON: Data, protectedJSON: Data) throws(HandlerError) -> BackupParameters {
        let pub = (try? JSONSerialization.jsonObject(with: publicJSON)) as? [String: Any] ?? [:]
        let prot = (try? JSONSerialization.jsonObject(with: protectedJSON)) as? [String: Any] ?? [:]
        if pub.isEmpty && prot.isEmpty {
            throw HandlerError(
                code: .certificateNotFound, "public and protected settings are both empty: unable to load certificate")
        }
        var p = BackupParameters()
        p.taskId = string(pub["taskId"]) ?? ""
        guard let command = string(pub["commandToExecute"]), !command.isEmpty else {
            throw HandlerError(code: .parameterError, "required field empty or not correct: commandToExecute")
        }
        p.commandToExecute = command
        if let ticks = pub["commandStartTimeUTCTicks"] {
            guard let value = Int64(string(ticks) ?? "") ?? (ticks as? NSNumber)?.int64Value else {
                throw HandlerError(code: .parameterError, "commandStartTimeUTCTicks is not a number")
            }
            p.commandStartTimeUTCTicks = value
        }
        p.locale = string(pub["locale"])
        p.vmType = string(pub["vmType"])
        p.statusBlobUri = (nonEmpty(pub["statusBlobUri"]) ?? nonEmpty(prot["statusBlobUri"])).map(SASURI.init)
        p.logsBlobUri = (nonEmpty(pub["logsBlobUri"]) ?? nonEmpty(prot["logsBlobUri"])).map(SASURI.init)
        guard command.lowercased().contains("snapshot") else { return p }

        let publicObject = try objectStr(pub["objectStr"], field: "public objectStr", required: true) ?? [:]
        guard let metadata = publicObject["backupMetadata"] as? [Any] else {
            throw HandlerError(code: .parameterError, "required field empty or not correct: objectStr.backupMetadata")
        }
        p.backupMetadata = pairs(metadata)
        p.snapshotTaskToken = string(publicObject["snapshotTaskToken"]) ?? string(prot["snapshotTaskToken"]) ?? ""
        if let disks = publicObject["includedDisks"] as? [String: Any] {
            p.diskIds = (disks["dataDiskLunList"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue }
            if (disks["isOSDiskIncluded"] as? Bool) == true { p.diskIds.append(-1) }
            p.instantAccessDurationMinutes = (disks["instantAccessDurationMinutes"] as? NSNumber)?.intValue
            if (disks["isAnyWADiskIncluded"] as? Bool) == true || (disks["isVmgsBlobIncluded"] as? Bool) == true
                || (disks["isAnyDirectDriveDiskIncluded"] as? Bool) == true
            {
                p.snapshotMethod = .onlyHost
            }
        }
        for pair in pairs(publicObject["dynamicConfigsFromCRP"] as? [Any] ?? []) {
            if let known = wellKnownFlags.first(where: { $0.lowercased() == pair.key.lowercased() }) {
                p.dynamicFlags[known] = pair.value.lowercased() == "true"
            }
        }
        if let protectedObject = try objectStr(prot["objectStr"], field: "protected objectStr", required: false) {
            p.blobSASUris = (protectedObject["blobSASUri"] as? [Any] ?? []).compactMap {
                ($0 as? String).map(SASURI.init)
            }
        }
        let custom = nonEmpty(pub["customSettings"]) ?? nonEmpty(prot["customSettings"])
        if let custom {
            if let object = try? JSONSerialization.jsonObject(with: Data(custom.utf8)) as? [String: Any] {
                if p.snapshotMethod != .onlyHost, let method = string(object["takeSnapshotFrom"]) {
                    if let known = SnapshotMethod(rawValue: method) {
                        p.snapshotMethod = known
                    } else {
                        p.warnings.append(
                            "customSettings.takeSnapshotFrom '\(method)' is unknown: using firstHostThenGuest")
                    }
                }
                p.backupTaskId = nonEmpty(object["backupTaskId"])
            } else {
                p.warnings.append("customSettings is not a JSON object: defaults used")
            }
        }
        return p
    }

    /// What the host snapshot path needs from these parameters.
    package var hostRequest: HostSnapshotRequest {
        HostSnapshotRequest(
            taskId: backupTaskId ?? taskId, snapshotTaskToken: snapshotTaskToken,
            diskIds: diskIds.isEmpty ? [-1] : diskIds,
            settings: dynamicFlags,
            metadata: Dictionary(backupMetadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
            instantAccessDurationMinutes: instantAccessDurationMinutes)
    }

    /// What these parameters ask of the run (disks, snapshot method, host request, metadata).
    package var handlerRequest: HandlerRequest {
        HandlerRequest(
            disks: blobSASUris, snapshotMethod: snapshotMethod, host: hostRequest, metadata: backupMetadata)
    }

    /// taskId, ticks, vmType and the status blob from the public settings alone (what `enable`
    /// needs).
    package static func publicSummary(
        _ publicJSON: Data
    ) -> (taskId: String, ticks: String?, vmType: String?, statusBlobUri: SASURI?) {
        let pub = (try? JSONSerialization.jsonObject(with: publicJSON)) as? [String: Any] ?? [:]
        return (
            string(pub["taskId"]) ?? "", string(pub["commandStartTimeUTCTicks"]), string(pub["vmType"]),
            nonEmpty(pub["statusBlobUri"]).map(SASURI.init)
        )
    }

    /// base64 → text → trimmed of whitespace and quotes → JSON object.
    static func objectStr(_ value: Any?, field: String, required: Bool) throws(HandlerError) -> [String: Any]? {
        guard let text = string(value), !text.isEmpty else {
            if required { throw HandlerError(code: .parameterError, "required field empty or not correct: \(field)") }
            return nil
        }
        guard let data = Data(base64Encoded: text.trimmingSpaces, options: .ignoreUnknownCharacters) else {
            throw HandlerError(code: .parameterError, "\(field) is not base64")
        }
        let inner = String(decoding: data, as: UTF8.self).trimmingSpaces.trimmingCharacters(
            in: CharacterSet(charactersIn: "'"))
        guard let object = try? JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any] else {
            throw HandlerError(code: .parameterError, "\(field) does not decode to a JSON object")
        }
        return object
    }

    static func pairs(_ list: [Any]) -> [(key: String, value: String)] {
        list.compactMap { item in
            guard let pair = item as? [String: Any], let key = string(pair["Key"]) else { return nil }
            return (key, string(pair["Value"]) ?? (pair["Value"].map { "\($0)" } ?? ""))
        }
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    static func nonEmpty(_ value: Any?) -> String? {
        guard let s = string(value), !s.isEmpty else { return nil }
        return s
    }

    /// The command's age in seconds, from .NET ticks, against `now`.
    package func commandAge(now: Date = Date()) -> TimeInterval? {
        guard let ticks = commandStartTimeUTCTicks else { return nil }
        // 621355968000000000 ticks = 1970-01-01T00:00:00Z.
        let unixSeconds = (Double(ticks) - 621_355_968_000_000_000) / 10_000_000
        return now.timeIntervalSince1970 - unixSeconds
    }
}
