import Foundation
import SnapSystem

/// What a run has started, kept under `/run/snaporch/journal.json` (tmpfs on a real VM, never a
/// snapshotted disk) so that a run killed half-way can be finished by the next one.
///
/// Written before each pre step, before the freeze and after the thaw — never inside the window.
package struct JournalState: Sendable, Codable, Hashable {
    /// A post step owed to a plugin whose pre started.
    package struct OwedPost: Sendable, Codable, Hashable {
        package var plugin: String
        /// The post script (older journals: the only description of the step).
        package var executable: String?
        /// The post step's arguments.
        package var arguments: [String]
        package var timeoutMs: Int
        /// Exactly what the plugin would have run (argv, environment, limits); nil for a plugin
        /// without a post script (a database plugin) and in journals of older versions.
        package var invocation: StepInvocation?
    }

    package var runId: String
    package var taskId: String
    package var pid: Int32
    package var owed: [OwedPost] = []
    /// Mounts that may be frozen (set just before the window, cleared after the thaw).
    package var mayBeFrozen: [String] = []
    /// `/sys/kernel/rcu_expedited` before the window, when the run may change it: recovery then checks
    /// the knob (`RCUExpedite.heal`).
    package var rcuExpedited: String?
    /// Set (never written) when the journal file could not be read or parsed: the reason. Recovery
    /// then thaws every mount the file may name (`mayBeFrozen` holds them).
    package var unreadable: String?
    /// `SNAPORCH_OUTCOME` the post steps get, once the run knows it (after the thaw).
    package var outcome: String?
    /// `SNAPORCH_CONSISTENCY` the post steps get, once the run knows it.
    package var consistency: String?
}

/// Reads and writes the journal atomically.
package final class RunJournal: @unchecked Sendable {
    /// The journal file.
    package let path: String
    private var state: JournalState?

    /// A journal at `directory/journal.json`.
    package init(directory: String) { self.path = directory + "/journal.json" }

    /// The journal left by an earlier run, if any. A journal that exists but cannot be read or
    /// parsed is not ignored: it comes back with `unreadable` set and, as `mayBeFrozen`, every
    /// mounted filesystem whose mount point appears in it (recovery thaws them all).
    package func leftover() -> JournalState? {
        guard (try? FileStatus.of(path, followingSymlinks: false)) != nil else { return nil }
        let reason: String
        if let data = FileManager.default.contents(atPath: path) {
            do {
                return try JSONDecoder().decode(JournalState.self, from: data)
            } catch {
                reason = "cannot parse \(path): \(error)"
            }
            var state = JournalState(runId: "unknown", taskId: "unknown", pid: 0)
            state.unreadable = reason
            state.mayBeFrozen = Self.mountsNamed(in: String(decoding: data, as: UTF8.self))
            return state
        }
        var state = JournalState(runId: "unknown", taskId: "unknown", pid: 0)
        state.unreadable = "cannot read \(path): \(Errno.current.message)"
        // Nothing to go by: every mount that can be frozen may be.
        state.mayBeFrozen = Self.mountsNamed(in: nil)
        return state
    }

    /// Mount points of the mount table that appear in `text` as a JSON string (nil: all of them
    /// that can be frozen), in mount order.
    static func mountsNamed(in text: String?) -> [String] {
        var seen = Set<String>()
        return MountTable.entries().compactMap { entry in
            guard !MountSelector.unfreezableTypes.contains(entry.fsType), seen.insert(entry.mountPoint).inserted
            else { return nil }
            guard let text else { return entry.mountPoint }
            let quoted = String(decoding: (try? JSONEncoder().encode(entry.mountPoint)) ?? Data(), as: UTF8.self)
            return text.contains(quoted) ? entry.mountPoint : nil
        }
    }

    /// Starts a journal for a new run.
    package func begin(runId: String, taskId: String) {
        state = JournalState(runId: runId, taskId: taskId, pid: ThisProcess.id)
        save()
    }

    /// Records that a plugin's pre is starting, so its post is owed — exactly as `invocation` says.
    package func preStarting(
        _ plugin: String, post: String?, arguments: [String], timeout: TimeSpan, invocation: StepInvocation? = nil
    ) {
        state?.owed.append(
            .init(
                plugin: plugin, executable: post, arguments: arguments, timeoutMs: timeout.milliseconds,
                invocation: invocation))
        save()
    }

    /// Records the outcome and consistency the post steps are told (after the thaw, never inside the window).
    package func outcomeKnown(outcome: String, consistency: String) {
        state?.outcome = outcome
        state?.consistency = consistency
        save()
    }

    /// Records the mounts about to be frozen, and the RCU knob's value to restore.
    /// - Returns: nil when it is on disk, else why not (then nothing may be frozen: nobody could
    ///   finish the run's duties after a crash).
    @discardableResult
    package func freezing(_ mounts: [String], rcuExpedited: String? = nil) -> String? {
        state?.mayBeFrozen = mounts
        state?.rcuExpedited = rcuExpedited
        return save()
    }

    /// Records that nothing is frozen any more.
    package func thawed() {
        state?.mayBeFrozen = []
        state?.rcuExpedited = nil
        save()
    }

    /// Records that a plugin's post has run.
    package func postDone(_ plugin: String) {
        state?.owed.removeAll { $0.plugin == plugin }
        save()
    }

    /// Removes the journal: the run finished its duties. A journal that still names mounts that
    /// may be frozen (a thaw not confirmed, a FIFREEZE still in flight) is kept for `recover`.
    package func finish() {
        if let state, !state.mayBeFrozen.isEmpty {
            self.state?.owed = []
            save()
            return
        }
        state = nil
        FileSystem.remove(path)
    }

    /// Removes the journal whatever it holds (after a recovery).
    package func discard() {
        state = nil
        FileSystem.remove(path)
    }

    @discardableResult
    private func save() -> String? {
        guard let state else { return nil }
        do {
            try FileSystem.writeAtomically(Array(try JSONEncoder().encode(state)), to: path)
            return nil
        } catch {
            return "cannot write the run journal \(path): \(error)"
        }
    }
}
