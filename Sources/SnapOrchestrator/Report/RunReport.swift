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

    public var runId: String
    public var taskId: String
    public var outcome: Outcome = .failed
    public var consistency: Consistency = .none
    /// Why the consistency or outcome is lower than the best, one sentence each.
    public var reasons: [String] = []
    /// `run`, `rehearsal` (no freeze and/or no snapshot), or `recover`.
    public var mode: String = "run"
    /// ISO-8601 start time.
    public var startedAt: String = ""
    public var durationMs: Int = 0
    public var plugins: [PluginReport] = []
    public var freeze = FreezeReport()
    public var snapshot = SnapshotReport()
    public var timeline: [TimelineEntry] = []
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
    public var name: String
    public var type: String
    public var dropIn: Bool = false
    public var pre: StepReport?
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

    public var status: Status
    public var exitCode: Int32?
    public var signal: Int32?
    public var attempts: Int = 0
    public var durationMs: Int = 0
    public var stdoutTail: String = ""
    public var stderrTail: String = ""
    /// A sentence on what went wrong, if anything.
    public var error: String?
    /// True when a background process kept the output pipes open after the step exited.
    public var outputDetached: Bool?
    /// Facts a plugin records (e.g. a binlog position), redacted.
    public var details: [String: String]?

    public init(status: Status) { self.status = status }

    /// True for `succeeded`.
    public var ok: Bool { status == .succeeded }
}

/// The freeze part of a run.
public struct FreezeReport: Sendable, Codable, Hashable {
    public var enabled: Bool = false
    public var mounts: [MountReport] = []
    public var skipped: [SkippedMount] = []
    /// First FIFREEZE to last FITHAW, in milliseconds.
    public var windowMs: Int?
    /// Microsecond precision of the same window.
    public var windowUs: Int?
    /// True when the guard's deadline thawed the filesystems.
    public var deadlineHit: Bool = false
    public var error: String?

    public init() {}
}

/// One frozen (or attempted) mount.
public struct MountReport: Sendable, Codable, Hashable {
    public var mountPoint: String
    public var fsType: String
    public var frozen: Bool = false
    public var thawed: Bool = false
    /// How long FIFREEZE took on this mount, in microseconds.
    public var freezeUs: Int?
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
    public var provider: String = "none"
    public var taken: Bool = false
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
