/// The result of one run, as data: what every plugin, mount and disk did, and what it adds up to.
///
/// Encoded as the report JSON of the design (`--report F`, the last-run file, the status blob).
public struct RunReport: Sendable, Codable, Hashable {
    /// Overall verdict.
    public enum Outcome: String, Sendable, Codable, Hashable {
        case success, degraded, failed
    }

    /// What the snapshot can be trusted for.
    public enum Consistency: String, Sendable, Codable, Hashable, Comparable {
        case application, filesystem, crash, none

        var rank: Int {
            switch self {
            case .application: return 3
            case .filesystem: return 2
            case .crash: return 1
            case .none: return 0
            }
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// Unique id of the run (sortable by time).
    public var runId: String
    /// The backup task (from the handler settings), else the run id.
    public var taskId: String
    /// The verdict.
    public var outcome: Outcome = .failed
    /// What the snapshot can be trusted for.
    public var consistency: Consistency = .none
    /// Why the consistency or outcome is lower than the best, one sentence each.
    public var reasons: [String] = []
    /// `run`, `rehearsal` (`--no-freeze` and/or `--no-snapshot` given), or `recover`.
    public var mode: String = "run"
    /// ISO-8601 start time.
    /// ISO-8601 start time.
    public var startedAt: String = ""
    /// Duration of the whole run, in milliseconds.
    public var durationMs: Int = 0
    /// Every plugin, in pre order.
    public var plugins: [PluginReport] = []
    /// The freeze window.
    public var freeze = FreezeReport()
    /// The snapshot calls.
    public var snapshot = SnapshotReport()
    /// Spans of the run relative to its start.
    public var timeline: [TimelineEntry] = []
    /// Numbered errors (Azure codes), in the order they happened.
    public var errors: [ErrorEntry] = []
    /// Post steps owed by an earlier, interrupted run that this run executed first.
    public var recovered: [RecoveredStep] = []

    /// Creates an empty report.
    public init(runId: String, taskId: String) {
        self.runId = runId
        self.taskId = taskId
    }
}

/// One plugin's pre and post results.
public struct PluginReport: Sendable, Codable, Hashable {
    /// Plugin name.
    public var name: String
    /// `script`, `mysql` or `postgres`.
    public var type: String
    /// True for an executable of `scripts_dir`.
    public var dropIn: Bool = false
    /// The pre step, if it was started or refused.
    public var pre: StepReport?
    /// The post step, if it ran.
    public var post: StepReport?

    public init(name: String, type: String, dropIn: Bool) {
        self.name = name
        self.type = type
        self.dropIn = dropIn
    }
}

/// One step (a pre or a post of a plugin).
public struct StepReport: Sendable, Codable, Hashable {
    /// How a step ended.
    public enum Status: String, Sendable, Codable, Hashable {
        case succeeded, failed, skipped
        case timedOut = "timed-out"
    }

    /// How the step ended.
    public var status: Status
    /// Exit code, when it exited.
    public var exitCode: Int32?
    /// Signal number, when a signal ended it.
    public var signal: Int32?
    /// Attempts made (retries really re-run).
    public var attempts: Int = 0
    /// Duration of all attempts, in milliseconds.
    public var durationMs: Int = 0
    /// The last 64 KiB of stdout, secrets masked.
    public var stdoutTail: String = ""
    /// The last 64 KiB of stderr, secrets masked.
    public var stderrTail: String = ""
    /// A sentence on what went wrong, if anything.
    public var error: String?
    /// True when a background process kept the output pipes open after the step exited.
    public var outputDetached: Bool?
    /// Facts a plugin records (e.g. a binlog position), redacted.
    public var details: [String: String]?
    /// What a restore of the snapshot needs from this plugin (database plugins).
    public var restore: RestoreInfo?

    public init(status: Status) { self.status = status }

    /// True for `succeeded`.
    public var ok: Bool { status == .succeeded }
}

/// The freeze part of a run.
public struct FreezeReport: Sendable, Codable, Hashable {
    /// True when the run was to freeze.
    public var enabled: Bool = false
    /// The mounts frozen (or attempted), in freeze order.
    public var mounts: [MountReport] = []
    /// Mounts left out, with the reason.
    public var skipped: [SkippedMount] = []
    /// First FIFREEZE to last FITHAW, in milliseconds.
    public var windowMs: Int?
    /// Microsecond precision of the same window.
    public var windowUs: Int?
    /// True when the guard's deadline thawed the filesystems.
    public var deadlineHit: Bool = false
    /// What went wrong with the freeze, if anything.
    public var error: String?

    public init() {}
}

/// One frozen (or attempted) mount.
public struct MountReport: Sendable, Codable, Hashable {
    /// Where it is mounted.
    public var mountPoint: String
    /// Filesystem type.
    public var fsType: String
    /// True when FIFREEZE succeeded.
    public var frozen: Bool = false
    /// True when the thaw was confirmed.
    public var thawed: Bool = false
    /// How long FIFREEZE took on this mount, in microseconds.
    public var freezeUs: Int?
    /// True while the mount may be frozen without a confirmed thaw (a FIFREEZE still in flight at
    /// the deadline, a guard that never answered); absent otherwise. `snaporch recover` thaws it.
    public var mayBeFrozen: Bool?
    public var error: String?

    public init(mountPoint: String, fsType: String) {
        self.mountPoint = mountPoint
        self.fsType = fsType
    }
}

/// A mount left out of the freeze, with the reason.
public struct SkippedMount: Sendable, Codable, Hashable {
    public var mountPoint: String
    public var fsType: String
    public var reason: String

    public init(mountPoint: String, fsType: String, reason: String) {
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.reason = reason
    }
}

/// The snapshot part of a run.
public struct SnapshotReport: Sendable, Codable, Hashable {
    /// `blob`, `host`, `command` or `none`.
    public var provider: String = "none"
    /// True when at least one disk's snapshot exists.
    public var taken: Bool = false
    /// One entry per disk.
    public var disks: [DiskReport] = []
    public var error: String?
    /// The Azure error code of a failure (76 all failed, 761 some failed, 85, 173).
    public var errorCode: Int?

    public init() {}
}

/// One disk's snapshot call.
public struct DiskReport: Sendable, Codable, Hashable {
    /// The blob URI without its SAS query.
    public var blob: String
    /// True when the snapshot exists.
    public var ok: Bool
    /// The snapshot id (`x-ms-snapshot`) or the provider's identifier.
    public var snapshot: String?
    public var error: String?
    public var durationMs: Int = 0

    public init(blob: String, ok: Bool) {
        self.blob = blob
        self.ok = ok
    }
}

/// One span of the run, relative to its start.
public struct TimelineEntry: Sendable, Codable, Hashable {
    public var step: String
    public var startMs: Int
    public var endMs: Int

    public init(step: String, startMs: Int, endMs: Int) {
        self.step = step
        self.startMs = startMs
        self.endMs = endMs
    }
}

/// A numbered error, with the Azure code and name where one exists.
public struct ErrorEntry: Sendable, Codable, Hashable {
    public var code: Int
    public var name: String
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code.rawValue
        self.name = code.name
        self.message = message
    }
}

/// A post step run on behalf of an interrupted earlier run.
public struct RecoveredStep: Sendable, Codable, Hashable {
    public var runId: String
    public var plugin: String
    public var result: StepReport

    public init(runId: String, plugin: String, result: StepReport) {
        self.runId = runId
        self.plugin = plugin
        self.result = result
    }
}
