import Foundation
import SnapSystem

/// One event of a run as its journal stores it: one line of JSON, appended when the event happens.
/// Replaying the records in order (`JournalState.apply`) gives what an interrupted run still owes.
package struct JournalRecord: Sendable, Codable, Hashable {
    /// What happened.
    package enum Event: String, Sendable, Codable, Hashable {
        /// A run started (`runId`, `taskId`, `pid`): always the first record.
        case begin
        /// A plugin's pre is starting: its post (`owed`) is owed from now on.
        case preStarting
        /// The outcome and consistency the post steps are told (`outcome`, `consistency`).
        case outcomeKnown
        /// `mounts` are about to be frozen (`rcuExpedited`: the knob's value to restore).
        case freezing
        /// Nothing is frozen any more.
        case thawed
        /// `plugin`'s pre is about to stop the replica SQL thread (it was running): its post, or
        /// `recover`, starts it again.
        case replicaStopping
        /// `plugin`'s post step has run.
        case postDone
        /// The run is over; only what may still be frozen is kept (no post step is owed).
        case finished
    }

    package var event: Event
    package var runId: String?
    package var taskId: String?
    package var pid: Int32?
    package var owed: JournalState.OwedPost?
    package var outcome: StepOutcome?
    package var consistency: RunReport.Consistency?
    package var mounts: [String]?
    package var rcuExpedited: String?
    package var plugin: String?
    /// On `begin` of a split-phase run: who called `snaporch begin`.
    package var split: String?

    /// A record of `event` with no fields (the constructors below fill them).
    package init(_ event: Event) { self.event = event }

    /// The first record of a run.
    package static func begin(runId: String, taskId: String, pid: Int32) -> JournalRecord {
        var record = JournalRecord(.begin)
        record.runId = runId
        record.taskId = taskId
        record.pid = pid
        return record
    }

    /// A post step becomes owed.
    package static func preStarting(_ owed: JournalState.OwedPost) -> JournalRecord {
        var record = JournalRecord(.preStarting)
        record.owed = owed
        return record
    }

    /// The post steps' `SNAPORCH_OUTCOME` and `SNAPORCH_CONSISTENCY`.
    package static func outcomeKnown(outcome: StepOutcome, consistency: RunReport.Consistency) -> JournalRecord {
        var record = JournalRecord(.outcomeKnown)
        record.outcome = outcome
        record.consistency = consistency
        return record
    }

    /// Mounts about to be frozen.
    package static func freezing(_ mounts: [String], rcuExpedited: String?) -> JournalRecord {
        var record = JournalRecord(.freezing)
        record.mounts = mounts
        record.rcuExpedited = rcuExpedited
        return record
    }

    /// A plugin's pre is about to stop the replica SQL thread.
    package static func replicaStopping(_ plugin: String) -> JournalRecord {
        var record = JournalRecord(.replicaStopping)
        record.plugin = plugin
        return record
    }

    /// A post step has run.
    package static func postDone(_ plugin: String) -> JournalRecord {
        var record = JournalRecord(.postDone)
        record.plugin = plugin
        return record
    }

    /// Whether recovery acts on this record: it adds a duty (a post owed, mounts that may be frozen)
    /// or tells the owed steps something (the outcome). Such a record is durable before the action
    /// it announces; the others only discharge duties (see `RunJournal`'s durability policy).
    package var announcesDuty: Bool {
        switch event {
        case .preStarting, .outcomeKnown, .freezing, .replicaStopping: return true
        case .begin, .thawed, .postDone, .finished: return false
        }
    }

    /// The record as one line: compact JSON with sorted keys (never a raw newline inside) and `\n`.
    package func line() -> [UInt8]? {
        var bytes = json.bytes
        bytes.append(0x0A)
        return bytes
    }

    /// The record as JSON, written by hand (see `JSONText`: `JSONEncoder`'s first use of each type
    /// cost the first step of every run ~0.5 ms); `JSONDecoder` reads it back (`JournalRecordTests`).
    var json: JSONText {
        .members([
            ("event", .string(event.rawValue)), ("runId", runId.map(JSONText.string)),
            ("taskId", taskId.map(JSONText.string)), ("pid", pid.map { .integer(Int64($0)) }),
            ("owed", owed?.json), ("outcome", outcome.map { .string($0.rawValue) }),
            ("consistency", consistency.map { .string($0.rawValue) }), ("mounts", mounts.map(JSONText.strings)),
            ("rcuExpedited", rcuExpedited.map(JSONText.string)), ("plugin", plugin.map(JSONText.string)),
            ("split", split.map(JSONText.string)),
        ])
    }
}
