import SnapSystem

/// What an interrupted run owes, as `recover` needs it: the replay of the run's journal records
/// (or an older version's `journal.json`, which stored exactly this value).
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
        /// For a database plugin's owed step: the session it may hold a lock (or a backup) in, and
        /// when its dead-man ends it at the latest (nil for other plugins and in older journals).
        package var hold: Hold?
        /// For a MySQL/MariaDB plugin with `replica: true`: how to reach the server whose replica SQL
        /// thread its pre may stop (nil otherwise and in older journals).
        package var replica: Replica?
        /// Set by the replay of a `replicaStopping` record: the pre was about to stop the replica
        /// SQL thread (it was running), so recovery starts it again if it is still stopped.
        package var replicaStopped: Bool?
    }

    /// How `recover` reaches a MySQL/MariaDB server to restart a replica SQL thread the run stopped:
    /// the client's options only (the credentials stay in the root-owned defaults file).
    package struct Replica: Sendable, Codable, Hashable {
        /// The plugin's `defaults_file`.
        package var defaultsFile: String
        /// The plugin's `socket`, if it names one.
        package var socket: String?

        package init(defaultsFile: String, socket: String?) {
            self.defaultsFile = defaultsFile
            self.socket = socket
        }
    }

    /// What a database session of the run may hold, and its dead-man (see `HoldDeadline`).
    package struct Hold: Sendable, Codable, Hashable {
        /// The plugin type (`mysql`, `postgres`).
        package var type: String
        /// The latest moment the server's idle timeout ends the session, epoch milliseconds (nil
        /// when the server has none: PostgreSQL before 14).
        package var endsByEpochMs: Int64?

        package init(type: String, endsByEpochMs: Int64?) {
            self.type = type
            self.endsByEpochMs = endsByEpochMs
        }
    }

    package var runId: String
    package var taskId: String
    package var pid: Int32
    /// Set when the run was split-phase (`snaporch begin`): the caller of begin.
    package var split: String?
    package var owed: [OwedPost] = []
    /// Mounts that may be frozen (set just before the window, cleared after the thaw).
    package var mayBeFrozen: [String] = []
    /// `/sys/kernel/rcu_expedited` before the window, when the run may change it: recovery then checks
    /// the knob (`RCUExpedite.heal`).
    package var rcuExpedited: String?
    /// Set (never written) when the journal could not be read or parsed: the reason. Recovery then
    /// thaws every mount the file may name (`mayBeFrozen` holds them).
    package var unreadable: String?
    /// `SNAPORCH_OUTCOME` the post steps get, once the run knows it (after the thaw).
    package var outcome: StepOutcome?
    /// `SNAPORCH_CONSISTENCY` the post steps get, once the run knows it.
    package var consistency: RunReport.Consistency?
    /// Set when the run wrote its last record: it ended on its own, with its report, and kept the
    /// journal for a thaw it could not confirm or for a post whose duty is left (`owed`; nil:
    /// interrupted).
    package var finished: Bool?

    /// Applies one journal record (the replay of a record log).
    /// - Returns: false when the record lacks what its event needs (then nothing is changed).
    @discardableResult
    package mutating func apply(_ record: JournalRecord) -> Bool {
        switch record.event {
        case .begin:
            guard let runId = record.runId, let taskId = record.taskId, let pid = record.pid else { return false }
            self = JournalState(runId: runId, taskId: taskId, pid: pid)
            split = record.split
        case .preStarting:
            guard let post = record.owed else { return false }
            owed.append(post)
        case .outcomeKnown:
            guard let outcome = record.outcome, let consistency = record.consistency else { return false }
            self.outcome = outcome
            self.consistency = consistency
        case .freezing:
            guard let mounts = record.mounts else { return false }
            mayBeFrozen = mounts
            rcuExpedited = record.rcuExpedited
        case .thawed:
            mayBeFrozen = []
            rcuExpedited = nil
        case .replicaStopping:
            guard let plugin = record.plugin else { return false }
            // Without its owed post (not on disk) there is nothing to mark: the record is harmless.
            if let i = owed.lastIndex(where: { $0.plugin == plugin }) { owed[i].replicaStopped = true }
        case .postDone:
            guard let plugin = record.plugin else { return false }
            owed.removeAll { $0.plugin == plugin }
        case .finished:
            // Every post ran by now; one still owed left its duty (`RunJournal.postLeftOwed`).
            finished = true
        }
        return true
    }
}
