import Foundation
import SnapCore
import SnapSystem

/// What the handler remembers about one sequence number: its task, whether a daemon is running it
/// (and which), and its terminal status once written — for de-duplication, re-reporting and for
/// recovering a daemon that died.
///
/// Stored as `<statusFolder>/<seq>.snaporch.json`, so it has the extension's lifetime, as the
/// original's `mrseq` does: the guest agent copies the status folder to the new version on an upgrade
/// and deletes it with the extension on uninstall (a re-install that restarts at sequence 0 then
/// starts clean). One file per sequence: concurrent daemons of different sequences never overwrite
/// each other's record. The folder is never created here (`save` skips a removed extension).
package struct HandlerState: Sendable, Codable, Hashable {
    /// The terminal result of a sequence, enough to write its status again or to answer a duplicate.
    package struct Terminal: Sendable, Codable, Hashable {
        package var status: HandlerStatus.State
        package var code: Int
        package var message: String
        package var snapshotConsistency: Int
        package var extErrorCode: Int
        package var reportJSON: String?
        package var commandStartTimeUTCTicks: String?
        package var isV2: Bool

        package init(_ s: HandlerStatus) {
            status = s.status
            code = s.code
            message = s.message
            snapshotConsistency = s.snapshotConsistency
            extErrorCode = s.extErrorCode
            reportJSON = s.reportJSON
            commandStartTimeUTCTicks = s.commandStartTimeUTCTicks
            isV2 = s.isV2
        }

        /// The status document again, for `taskId`.
        package func status(taskId: String) -> HandlerStatus {
            var s = HandlerStatus(
                status: status, code: code, message: message, taskId: taskId,
                snapshotConsistency: snapshotConsistency, extErrorCode: extErrorCode)
            s.reportJSON = reportJSON
            s.commandStartTimeUTCTicks = commandStartTimeUTCTicks
            s.isV2 = isV2
            return s
        }
    }

    package var sequence: Int
    package var taskId: String = ""
    /// Where a sequence stands; persisted as `running` or `done`.
    package enum Phase: String, Sendable, Codable, Hashable {
        /// A daemon owns the sequence (or died owning it).
        case running
        /// Its terminal status was written.
        case done
    }

    /// `running` while a daemon owns the sequence, `done` after its terminal status was written.
    package var phase: Phase = .running
    package var pid: Int32?
    /// Start time of `pid`, so that a reused pid is not taken for the daemon.
    package var pidStartTime: UInt64?
    /// The terminal status, once written.
    package var terminal: Terminal?
    /// True when `terminal` is this sequence's own result (a duplicate task is answered with it);
    /// not for a duplicate's borrowed result nor for a daemon that died (its task must run again).
    package var isOriginalResult: Bool?

    package init(sequence: Int) { self.sequence = sequence }

    static let suffix = ".snaporch.json"

    /// The record file of `sequence`.
    package static func path(statusFolder: String, sequence: Int) -> String {
        "\(statusFolder)/\(sequence)\(suffix)"
    }

    /// The record of `sequence`, if there is one.
    package static func load(statusFolder: String, sequence: Int) -> HandlerState? {
        guard let data = FileManager.default.contents(atPath: path(statusFolder: statusFolder, sequence: sequence))
        else { return nil }
        return try? JSONDecoder().decode(HandlerState.self, from: data)
    }

    /// Every record of the folder, by sequence number.
    package static func all(statusFolder: String) -> [HandlerState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: statusFolder)) ?? []
        return names.compactMap { name -> HandlerState? in
            guard name.hasSuffix(suffix), let n = Int(name.dropLast(suffix.count)) else { return nil }
            return load(statusFolder: statusFolder, sequence: n)
        }.sorted { $0.sequence < $1.sequence }
    }

    /// How many sequences keep their record and status file (the original keeps 60 old status files).
    package static let kept = 60

    /// Removes the records and status files of all but the newest `keep` sequences (never
    /// `current`'s, never one whose daemon runs): a VM backed up daily for years would otherwise
    /// keep thousands, every record read at every backup. Returns the sequences removed.
    @discardableResult
    package static func prune(statusFolder: String, keeping keep: Int = kept, current: Int) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: statusFolder)) ?? []
        let sequences = names.compactMap { name -> Int? in
            name.hasSuffix(suffix) ? Int(name.dropLast(suffix.count)) : nil
        }.sorted()
        var removed: [Int] = []
        for sequence in sequences.dropLast(keep) where sequence != current {
            if load(statusFolder: statusFolder, sequence: sequence)?.daemonAlive == true { continue }
            _ = FileSystem.remove(path(statusFolder: statusFolder, sequence: sequence))
            _ = FileSystem.remove("\(statusFolder)/\(sequence).status")
            removed.append(sequence)
        }
        return removed
    }

    /// Writes the record atomically; returns false (and writes nothing) when the folder is gone.
    @discardableResult
    package func save(statusFolder: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: statusFolder, isDirectory: &isDirectory), isDirectory.boolValue,
            let data = try? JSONEncoder().encode(self)
        else { return false }
        return
            (try? FileSystem.writeAtomically(
                Array(data), to: Self.path(statusFolder: statusFolder, sequence: sequence))) != nil
    }

    /// Marks the record as owned by the process `pid`.
    package mutating func own(by pid: Int32) {
        phase = .running
        self.pid = pid
        pidStartTime = ProcessLiveness.startTime(pid)
    }

    /// True while the daemon that owns the sequence is alive.
    package var daemonAlive: Bool {
        guard phase == .running, let pid else { return false }
        return ProcessLiveness.isAlive(pid, startTime: pidStartTime)
    }

    /// True when the daemon that owned the run is gone without finishing.
    package var daemonDied: Bool { phase == .running && !daemonAlive }
}
