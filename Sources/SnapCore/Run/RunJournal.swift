import Foundation
import SnapSystem
import Synchronization

/// What a run has started, kept under `/run/snaporch` (tmpfs on a real VM, never a snapshotted
/// disk) so that a run killed half-way can be finished by the next one or by `snaporch recover`.
///
/// An append-only record log, `journal.jsonl`: one small JSON record per event (`JournalRecord`:
/// begin, pre starting = post owed, replica stopping, outcome known, freezing, thawed, post done,
/// finished), written with one `write(2)` through a descriptor opened at `begin` — O(1) per step,
/// however many plugins the run has. Readers replay the records (`JournalState.apply`), drop a torn last record (a crash
/// in the middle of a write) and keep every earlier one. An older version's `journal.json` (the
/// whole state, rewritten at every step) is still read when no record log exists.
///
/// Durability policy (`Durability.dutyRecords`, measured in `make bench`, per-step cost): a record
/// that announces a duty recovery acts on — a post step owed (`preStarting`), a replica SQL thread
/// about to be stopped (`replicaStopping`), the outcome the owed posts are told (`outcomeKnown`),
/// the mounts about to be frozen (`freezing`) — is on disk
/// (`fdatasync`, and the directory once) before the action it announces starts: a pre step, STOP
/// REPLICA, the post steps, FIFREEZE. Records that only discharge duties (`thawed`, `postDone`, `finished`) and
/// `begin` (carried to disk by the next durable record) are written, not synced: they survive any
/// death of the process (the page cache keeps them); only a machine crash can lose them, and then
/// `recover` repeats a thaw (harmless: nothing is frozen after a reboot) or a post step that already
/// ran (post steps already run after a failed pre). On ext4 here a durable record costs ~0.2 ms, a
/// plain one a few µs.
///
/// Safety contract: written before each pre step, before the freeze and after the thaw — never inside
/// the window. A `freezing` record that is not on disk refuses the freeze (nobody could thaw after a
/// crash). Shared across threads behind a `Mutex`.
package final class RunJournal: Sendable {
    /// Which records are made durable before the call that appends them returns.
    package enum Durability: Sendable, Hashable {
        /// Records that announce a duty (`JournalRecord.announcesDuty`): the default.
        case dutyRecords
        /// Every record (the guarantee of the old whole-file journal, at one `fdatasync` per record).
        case everyRecord
    }

    /// The record log.
    package let path: String
    /// Where an older version kept the whole state as one JSON document (read, never written).
    package let legacyPath: String
    /// Which records are synced.
    package let durability: Durability
    /// The mounted filesystems an unreadable journal is matched against (tests pass their own).
    let mountTable: @Sendable () -> [MountEntry]

    private struct Writer {
        var log: JournalLog?
        /// The last `freezing` record has not been followed by `thawed`.
        var mayBeFrozen = false
        /// A post step left its duty owed (`postLeftOwed`).
        var dutyLeft = false
        /// Owed posts of an earlier run that its recovery could not finish either: written again
        /// into every journal this instance begins (`discard(keeping:of:)`).
        var carried: [JournalState.OwedPost] = []
    }
    private let writer = Mutex(Writer())

    /// A journal at `directory/journal.jsonl`.
    package init(
        directory: String, durability: Durability = .dutyRecords,
        mountTable: @escaping @Sendable () -> [MountEntry] = { MountTable.entries() }
    ) {
        self.path = directory + "/journal.jsonl"
        self.legacyPath = directory + "/journal.json"
        self.durability = durability
        self.mountTable = mountTable
    }

    /// The journal left by an earlier run, if any. A journal that exists but cannot be read or
    /// parsed is not ignored: it comes back with `unreadable` set and, as `mayBeFrozen`, every
    /// mounted filesystem whose mount point appears in it (recovery thaws them all); the records
    /// before the first one that cannot be parsed are kept.
    package func leftover() -> JournalState? {
        switch JournalLog.read(path) {
        case .absent: return legacyLeftover()
        case .unreadable(let reason): return Self.unreadable(reason, text: nil, mounts: mountTable)
        case .records(let lines, let unterminated, let bytes):
            return Self.replay(lines, unterminated: unterminated, bytes: bytes, path: path, mounts: mountTable)
        }
    }

    /// Replays complete records; the last record may be torn (it is dropped), any other must parse.
    static func replay(
        _ lines: [ArraySlice<UInt8>], unterminated: ArraySlice<UInt8>, bytes: [UInt8], path: String,
        mounts: () -> [MountEntry]
    ) -> JournalState? {
        var state: JournalState?
        let decoder = JSONDecoder()
        for (index, line) in lines.enumerated() {
            let isLast = index == lines.count - 1 && unterminated.isEmpty
            var problem: String?
            if let record = try? decoder.decode(JournalRecord.self, from: Data(line)) {
                if state == nil && record.event != .begin {
                    problem = "record \(index + 1) is '\(record.event.rawValue)', not 'begin'"
                } else if state == nil {
                    state = JournalState(runId: "unknown", taskId: "unknown", pid: 0)
                }
                if problem == nil && state?.apply(record) == false {
                    problem = "record \(index + 1) ('\(record.event.rawValue)') lacks its fields"
                }
            } else {
                problem = "record \(index + 1) cannot be parsed"
            }
            guard let problem else { continue }
            if isLast { break }  // torn: written up to its newline only in part
            var known = unreadable(
                "cannot parse \(path): \(problem)", text: String(decoding: bytes, as: UTF8.self), mounts: mounts)
            if let state {
                // Keep what the earlier records say, and thaw anything the file names.
                let named = known.mayBeFrozen
                known.runId = state.runId
                known.taskId = state.taskId
                known.pid = state.pid
                known.split = state.split
                known.owed = state.owed
                known.outcome = state.outcome
                known.consistency = state.consistency
                known.rcuExpedited = state.rcuExpedited
                known.mayBeFrozen = state.mayBeFrozen + named.filter { !state.mayBeFrozen.contains($0) }
            }
            return known
        }
        return state
    }

    /// The whole-state `journal.json` of an older version.
    private func legacyLeftover() -> JournalState? {
        guard (try? FileStatus.of(legacyPath, followingSymlinks: false)) != nil else { return nil }
        guard let data = FileManager.default.contents(atPath: legacyPath) else {
            return Self.unreadable("cannot read \(legacyPath)", text: nil, mounts: mountTable)
        }
        do {
            return try JSONDecoder().decode(JournalState.self, from: data)
        } catch {
            return Self.unreadable(
                "cannot parse \(legacyPath): \(error)", text: String(decoding: data, as: UTF8.self), mounts: mountTable)
        }
    }

    /// A journal that cannot be used: every mount named in `text` may be frozen (nil: nothing to go
    /// by, every mount that can be frozen may be).
    static func unreadable(_ reason: String, text: String?, mounts: () -> [MountEntry]) -> JournalState {
        var state = JournalState(runId: "unknown", taskId: "unknown", pid: 0)
        state.unreadable = reason
        state.mayBeFrozen = mountsNamed(in: text, mounts: mounts())
        return state
    }

    /// Mount points of the mount table that appear in `text` as a JSON string (slashes escaped or
    /// not), nil: all of them that can be frozen, in mount order.
    static func mountsNamed(in text: String?, mounts: [MountEntry]) -> [String] {
        var seen = Set<String>()
        let plain = JSONEncoder()
        plain.outputFormatting = [.withoutEscapingSlashes]
        let escaped = JSONEncoder()
        return mounts.compactMap { entry in
            guard !MountSelector.unfreezableTypes.contains(entry.fsType), seen.insert(entry.mountPoint).inserted
            else { return nil }
            guard let text else { return entry.mountPoint }
            let named = [plain, escaped].contains { encoder in
                let quoted = String(decoding: (try? encoder.encode(entry.mountPoint)) ?? Data(), as: UTF8.self)
                return text.contains(quoted)
            }
            return named ? entry.mountPoint : nil
        }
    }

    /// Starts the record log of a new run (replacing a file left at `path`: recover it first);
    /// `split` names the caller of a split-phase run's `begin`.
    package func begin(runId: String, taskId: String, split: String? = nil) {
        let carried = writer.withLock { writer in
            writer.log?.close()
            writer.log = JournalLog(creating: path)
            writer.mayBeFrozen = false
            writer.dutyLeft = !writer.carried.isEmpty
            return writer.carried
        }
        var record = JournalRecord.begin(runId: runId, taskId: taskId, pid: ThisProcess.id)
        record.split = split
        append(record)
        for post in carried {
            append(.preStarting(post))
            if post.replicaStopped == true { append(.replicaStopping(post.plugin)) }
        }
    }

    /// Records that a plugin's pre is starting, so its post is owed — exactly as `invocation` says;
    /// `hold`: the database session the step may hold something in, and when its dead-man ends it.
    /// - Returns: nil when it is on disk, else why not.
    @discardableResult
    package func preStarting(
        _ plugin: String, post: String?, arguments: [String], timeout: TimeSpan, invocation: StepInvocation? = nil,
        hold: JournalState.Hold? = nil, replica: JournalState.Replica? = nil
    ) -> String? {
        append(
            .preStarting(
                .init(
                    plugin: plugin, executable: post, arguments: arguments, timeoutMs: timeout.milliseconds,
                    invocation: invocation, hold: hold, replica: replica)))
    }

    /// Records that `plugin`'s pre is about to stop the replica SQL thread (durable first).
    /// - Returns: nil when it is on disk, else why not (then the replica must not be stopped:
    ///   nobody could start it again after a crash).
    package func replicaStopping(_ plugin: String) -> String? {
        append(.replicaStopping(plugin))
    }

    /// Records the outcome and consistency the post steps are told (after the thaw, never inside the window).
    package func outcomeKnown(outcome: StepOutcome, consistency: RunReport.Consistency) {
        append(.outcomeKnown(outcome: outcome, consistency: consistency))
    }

    /// Records the mounts about to be frozen, and the RCU knob's value to restore.
    /// - Returns: nil when it is on disk, else why not (then nothing may be frozen: nobody could
    ///   finish the run's duties after a crash).
    @discardableResult
    package func freezing(_ mounts: [String], rcuExpedited: String? = nil) -> String? {
        append(.freezing(mounts, rcuExpedited: rcuExpedited))
    }

    /// Records that nothing is frozen any more.
    package func thawed() {
        append(JournalRecord(.thawed))
    }

    /// Records that a plugin's post has run.
    package func postDone(_ plugin: String) {
        append(.postDone(plugin))
    }

    /// A plugin's post ran but could not finish its duty (`StepReport.dutyLeft`): no `postDone`,
    /// so the post stays owed, and `finish` keeps the journal for `recover` or the next run.
    package func postLeftOwed(_ plugin: String) {
        writer.withLock { $0.dutyLeft = true }
    }

    /// Removes the journal: the run finished its duties. A journal that still names mounts that
    /// may be frozen (a thaw not confirmed, a FIFREEZE still in flight), or a post whose duty is
    /// left (`postLeftOwed`), is kept for `recover`.
    package func finish() {
        // A duty left in a log that stopped taking records (ENOSPC) is not kept: without the
        // records after the failure, a replay would take the ended run for an interrupted one.
        let keep = writer.withLock { $0.log != nil && ($0.mayBeFrozen || ($0.dutyLeft && $0.log?.failure == nil)) }
        if keep {
            append(JournalRecord(.finished))
            writer.withLock { $0.log?.close() }
            return
        }
        discard()
    }

    /// Removes the journal after the recovery of `leftover`; the owed posts in `left`, whose duty
    /// that recovery could not finish either, stay owed: written at once into a journal of their own
    /// (ended, so `recover` finds them), and into the journal of the next run this instance begins.
    /// Each is named after its run (`db (run R)`), so that a plugin of the same name in the next run
    /// does not discharge it.
    package func discard(keeping left: [JournalState.OwedPost], of leftover: JournalState) {
        discard()
        guard !left.isEmpty else { return }
        let marker = " (run "
        writer.withLock { writer in
            writer.carried = left.map { post in
                var post = post
                if !post.plugin.contains(marker) { post.plugin += "\(marker)\(leftover.runId))" }
                return post
            }
        }
        begin(runId: leftover.runId, taskId: leftover.taskId)
        finish()
    }

    /// Removes the journal whatever it holds (after a recovery), and an older version's file.
    package func discard() {
        writer.withLock { writer in
            writer.log?.close()
            writer.log = nil
            writer.mayBeFrozen = false
            writer.dutyLeft = false
        }
        _ = FileSystem.remove(path)
        _ = FileSystem.remove(legacyPath)
    }

    /// Appends `record` (encoded outside the lock), synced as the durability policy says.
    /// - Returns: nil when it is in the file (on disk when synced), else why not.
    @discardableResult
    private func append(_ record: JournalRecord) -> String? {
        let durable = durability == .everyRecord || record.announcesDuty
        let line = record.line()
        return writer.withLock { writer -> String? in
            guard writer.log != nil else { return "the run journal \(path) was not started" }
            guard let line else {
                return "cannot encode the run journal record '\(record.event.rawValue)'"
            }
            if let problem = writer.log!.append(line, durable: durable) { return problem }
            switch record.event {
            case .freezing: writer.mayBeFrozen = true
            case .thawed: writer.mayBeFrozen = false
            default: break
            }
            return nil
        }
    }
}
