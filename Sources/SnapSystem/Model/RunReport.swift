/// The result of one run, as data: what every plugin, mount and disk did, and what it adds up to.
///
/// Encoded as the report JSON of the design (`--report F`, the last-run file, the status blob).
package struct RunReport: Sendable, Codable, Hashable {
    /// Overall verdict.
    package enum Outcome: String, Sendable, Codable, Hashable {
        case success, degraded, failed
    }

    /// What the snapshot can be trusted for.
    package enum Consistency: String, Sendable, Codable, Hashable, Comparable {
        case application, filesystem, crash, none

        var rank: Int {
            switch self {
            case .application: return 3
            case .filesystem: return 2
            case .crash: return 1
            case .none: return 0
            }
        }

        package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// Unique id of the run (sortable by time).
    package var runId: String
    /// The backup task (from the handler settings), else the run id.
    package var taskId: String
    /// The verdict.
    package var outcome: Outcome = .failed
    /// What the snapshot can be trusted for.
    package var consistency: Consistency = .none
    /// Why the consistency or outcome is lower than the best, one sentence each.
    package var reasons: [String] = []
    /// What kind of run this was.
    package enum Mode: String, Sendable, Codable, Hashable {
        /// A full cycle.
        case run
        /// `--no-freeze` and/or `--no-snapshot` given.
        case rehearsal
        /// `snaporch recover`.
        case recover
    }

    /// `run`, `rehearsal` (`--no-freeze` and/or `--no-snapshot` given), or `recover`.
    package var mode: Mode = .run
    /// ISO-8601 start time.
    package var startedAt: String = ""
    /// Duration of the whole run, in milliseconds.
    package var durationMs: Int = 0
    /// Microsecond precision of the same duration (absent from reports of versions before it, and
    /// from documents written for a run that never started).
    package var durationUs: Int?
    /// Every plugin, in pre order.
    package var plugins: [PluginReport] = []
    /// The freeze window.
    package var freeze = FreezeReport()
    /// The snapshot calls.
    package var snapshot = SnapshotReport()
    /// Spans of the run relative to its start.
    package var timeline: [TimelineEntry] = []
    /// Numbered errors (Azure codes), in the order they happened.
    package var errors: [ErrorEntry] = []
    /// Post steps owed by an earlier, interrupted run that this run executed first.
    package var recovered: [RecoveredStep] = []
    /// For a split-phase run (`snaporch begin` / `end`): who called, the lease, how it ended.
    package var split: SplitReport?

    /// Creates an empty report.
    package init(runId: String, taskId: String) {
        self.runId = runId
        self.taskId = taskId
    }
}

/// One plugin's pre and post results.
package struct PluginReport: Sendable, Codable, Hashable {
    /// Plugin name.
    package var name: String
    /// `script`, `mysql` or `postgres`.
    package var type: String
    /// True for an executable of `scripts_dir`.
    package var dropIn: Bool = false
    /// The pre step, if it was started or refused.
    package var pre: StepReport?
    /// The hold step (the short blocking step right before the freeze), if it started or was refused.
    package var hold: StepReport?
    /// The release step (right after the thaw), if it ran.
    package var release: StepReport?
    /// The post step, if it ran.
    package var post: StepReport?

    package init(name: String, type: String, dropIn: Bool) {
        self.name = name
        self.type = type
        self.dropIn = dropIn
    }
}

/// One step (a pre or a post of a plugin).
package struct StepReport: Sendable, Codable, Hashable {
    /// How a step ended.
    package enum Status: String, Sendable, Codable, Hashable {
        case succeeded, failed, skipped
        case timedOut = "timed-out"
    }

    /// How the step ended.
    package var status: Status
    /// Exit code, when it exited.
    package var exitCode: Int32?
    /// Signal number, when a signal ended it.
    package var signal: Int32?
    /// Attempts made (retries really re-run).
    package var attempts: Int = 0
    /// Duration of all attempts, in milliseconds.
    package var durationMs: Int = 0
    /// The last 64 KiB of stdout, secrets masked.
    package var stdoutTail: String = ""
    /// The last 64 KiB of stderr, secrets masked.
    package var stderrTail: String = ""
    /// A sentence on what went wrong, if anything.
    package var error: String?
    /// True when a background process kept the output pipes open after the step exited.
    package var outputDetached: Bool?
    /// Facts a plugin records (e.g. a binlog position), redacted.
    package var details: [String: String]?
    /// What a restore of the snapshot needs from this plugin (database plugins).
    package var restore: RestoreInfo?
    /// A post step's duty it could not finish (e.g. starting the replica SQL thread its pre
    /// stopped): the run keeps it in its journal, and `recover` or the next run finishes it.
    package var dutyLeft: String?

    package init(status: Status) { self.status = status }

    /// True for `succeeded`.
    package var ok: Bool { status == .succeeded }
}

/// The freeze part of a run.
package struct FreezeReport: Sendable, Codable, Hashable {
    /// True when the run was to freeze.
    package var enabled: Bool = false
    /// The mounts frozen (or attempted), in freeze order.
    package var mounts: [MountReport] = []
    /// Mounts left out, with the reason.
    package var skipped: [SkippedMount] = []
    /// First FIFREEZE to last FITHAW, in milliseconds.
    package var windowMs: Int?
    /// Microsecond precision of the same window.
    package var windowUs: Int?
    /// True when the guard's deadline thawed the filesystems.
    package var deadlineHit: Bool = false
    /// What went wrong with the freeze, if anything.
    package var error: String?

    package init() {}
}

/// One frozen (or attempted) mount.
package struct MountReport: Sendable, Codable, Hashable {
    /// Where it is mounted.
    package var mountPoint: String
    /// Filesystem type.
    package var fsType: String
    /// True when FIFREEZE succeeded.
    package var frozen: Bool = false
    /// True when the thaw was confirmed.
    package var thawed: Bool = false
    /// How long FIFREEZE took on this mount, in microseconds.
    package var freezeUs: Int?
    /// True while the mount may be frozen without a confirmed thaw (a FIFREEZE still in flight at
    /// the deadline, a guard that never answered); absent otherwise. `snaporch recover` thaws it.
    package var mayBeFrozen: Bool?
    package var error: String?

    package init(mountPoint: String, fsType: String) {
        self.mountPoint = mountPoint
        self.fsType = fsType
    }
}

/// A mount left out of the freeze, with the reason.
package struct SkippedMount: Sendable, Codable, Hashable {
    package var mountPoint: String
    package var fsType: String
    package var reason: String

    package init(mountPoint: String, fsType: String, reason: String) {
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.reason = reason
    }
}

/// The snapshot part of a run.
package struct SnapshotReport: Sendable, Codable, Hashable {
    /// `blob`, `host`, `command` or `none`.
    package var provider: SnapshotProviderKind = .none
    /// True when at least one disk's snapshot exists.
    package var taken: Bool = false
    /// One entry per disk.
    package var disks: [DiskReport] = []
    package var error: String?
    /// The Azure error code of a failure (76 all failed, 761 some failed, 85, 173).
    package var errorCode: ErrorCode?

    package init() {}
}

/// One disk's snapshot call.
package struct DiskReport: Sendable, Codable, Hashable {
    /// The blob URI without its SAS query.
    package var blob: String
    /// True when the snapshot exists.
    package var ok: Bool
    /// The snapshot id (`x-ms-snapshot`) or the provider's identifier.
    package var snapshot: String?
    package var error: String?
    package var durationMs: Int = 0

    package init(blob: String, ok: Bool) {
        self.blob = blob
        self.ok = ok
    }
}

/// One span of the run, relative to its start.
package struct TimelineEntry: Sendable, Codable, Hashable {
    package var step: TimelineStep
    package var startMs: Int
    package var endMs: Int

    package init(step: TimelineStep, startMs: Int, endMs: Int) {
        self.step = step
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// A numbered error, with the Azure code and name where one exists.
package struct ErrorEntry: Sendable, Codable, Hashable {
    package var code: ErrorCode
    package var name: String
    package var message: String

    package init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.name = code.name
        self.message = message
    }
}

/// A post step run on behalf of an interrupted earlier run.
package struct RecoveredStep: Sendable, Codable, Hashable {
    package var runId: String
    package var plugin: String
    package var result: StepReport

    package init(runId: String, plugin: String, result: StepReport) {
        self.runId = runId
        self.plugin = plugin
        self.result = result
    }
}
