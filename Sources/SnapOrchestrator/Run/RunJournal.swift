import Foundation
import Glibc

/// What a run has started, kept under `/run/snaporch/journal.json` (tmpfs on a real VM, never a
/// snapshotted disk) so that a run killed half-way can be finished by the next one.
///
/// Written before each pre step, before the freeze and after the thaw — never inside the window.
public struct JournalState: Sendable, Codable, Hashable {
    /// A post step owed to a plugin whose pre started.
    public struct OwedPost: Sendable, Codable, Hashable {
        public var plugin: String
        /// The post script (older journals: the only description of the step).
        public var executable: String?
        /// The post step's arguments.
        public var arguments: [String]
        public var timeoutMs: Int
        /// Exactly what the plugin would have run (argv, environment, limits); nil for a plugin
        /// without a post script (a database plugin) and in journals of older versions.
        public var invocation: StepInvocation?
    }

    public var runId: String
    public var taskId: String
    public var pid: Int32
    public var owed: [OwedPost] = []
    /// Mounts that may be frozen (set just before the window, cleared after the thaw).
    public var mayBeFrozen: [String] = []
    /// `/sys/kernel/rcu_expedited` before the window, when the run may change it: recovery then checks
    /// the knob (`RCUExpedite.heal`).
    public var rcuExpedited: String?
    /// `SNAPORCH_OUTCOME` the post steps get, once the run knows it (after the thaw).
    public var outcome: String?
    /// `SNAPORCH_CONSISTENCY` the post steps get, once the run knows it.
    public var consistency: String?
}

/// Reads and writes the journal atomically.
public final class RunJournal: @unchecked Sendable {
    /// The journal file.
    public let path: String
    private var state: JournalState?

    /// A journal at `directory/journal.json`.
    public init(directory: String) { self.path = directory + "/journal.json" }

    /// The journal left by an earlier run, if any.
    public func leftover() -> JournalState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(JournalState.self, from: data)
    }

    /// Starts a journal for a new run.
    public func begin(runId: String, taskId: String) {
        state = JournalState(runId: runId, taskId: taskId, pid: getpid())
        save()
    }

    /// Records that a plugin's pre is starting, so its post is owed — exactly as `invocation` says.
    public func preStarting(
        _ plugin: String, post: String?, arguments: [String], timeout: TimeSpan, invocation: StepInvocation? = nil
    ) {
        state?.owed.append(
            .init(
                plugin: plugin, executable: post, arguments: arguments, timeoutMs: timeout.milliseconds,
                invocation: invocation))
        save()
    }

    /// Records the outcome and consistency the post steps are told (after the thaw, never inside the window).
    public func outcomeKnown(outcome: String, consistency: String) {
        state?.outcome = outcome
        state?.consistency = consistency
        save()
    }

    /// Records the mounts about to be frozen, and the RCU knob's value to restore.
    public func freezing(_ mounts: [String], rcuExpedited: String? = nil) {
        state?.mayBeFrozen = mounts
        state?.rcuExpedited = rcuExpedited
        save()
    }

    /// Records that nothing is frozen any more.
    public func thawed() {
        state?.mayBeFrozen = []
        state?.rcuExpedited = nil
        save()
    }

    /// Records that a plugin's post has run.
    public func postDone(_ plugin: String) {
        state?.owed.removeAll { $0.plugin == plugin }
        save()
    }

    /// Removes the journal: the run finished its duties.
    public func finish() {
        state = nil
        unlink(path)
    }

    private func save() {
        guard let state, let data = try? JSONEncoder().encode(state) else { return }
        try? FileSystem.writeAtomically(Array(data), to: path)
    }
}
