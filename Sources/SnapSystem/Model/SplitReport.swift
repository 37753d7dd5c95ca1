/// The split-phase part of a run report (`snaporch begin` … `snaporch end`).
package struct SplitReport: Sendable, Codable, Hashable {
    /// How the window between begin and end closed.
    package enum Ending: String, Sendable, Codable, Hashable {
        /// `snaporch end` came: the platform's snapshot was taken.
        case end
        /// `snaporch end --snapshot-failed`: the platform says its snapshot failed.
        case snapshotFailed = "snapshot-failed"
        /// `end` did not come within the lease: the holder released everything itself.
        case leaseExpired = "lease-expired"
        /// A signal stopped the holder's wait (SIGTERM, SIGINT, SIGHUP).
        case interrupted
        /// The run stopped before the system was quiesced (a pre or hold step with `on_failure: abort`).
        case notQuiesced = "not-quiesced"
        /// The holder died; `end` or `recover` finished its duties.
        case holderDied = "holder-died"
    }

    /// Which limit bounds the window.
    package enum Bound: String, Sendable, Codable, Hashable {
        /// The lease (`split.lease`, `--lease`).
        case lease
        /// The freeze timeout (`freeze.timeout`, shorter than the lease) of a begin that froze.
        case freezeTimeout = "freeze.timeout"
    }

    /// Who called begin (`qemu-ga`, `vmware`, `gce`, `aws`, `cli`).
    package var caller: String
    /// The lease, in milliseconds.
    package var leaseMs: Int
    /// The window's limit: the lease, or a shorter freeze timeout when begin froze.
    package var windowMs: Int
    /// Which of the two `windowMs` is.
    package var bound: Bound
    /// True when the platform freezes the filesystems itself (qemu-ga, VMware Tools).
    package var platformFreezes: Bool
    /// The holder's pid.
    package var holderPid: Int32
    /// When the system was quiesced (begin returned), ISO-8601; nil when it never was.
    package var quiescedAt: String?
    /// How the window closed.
    package var ending: Ending?
    /// The reason `end --snapshot-failed` gave.
    package var snapshotFailedReason: String?
    /// From quiesced to the window's close (`end`, the lease, a signal), in milliseconds.
    package var heldMs: Int?
    /// What the caller's adapter decided and why (e.g. a Google disk list that could not be mapped
    /// to mounts); nil when it said nothing.
    package var callerNotes: [String]?

    /// Creates the split part of a report.
    package init(
        caller: String, leaseMs: Int, windowMs: Int, bound: Bound, platformFreezes: Bool, holderPid: Int32
    ) {
        self.caller = caller
        self.leaseMs = leaseMs
        self.windowMs = windowMs
        self.bound = bound
        self.platformFreezes = platformFreezes
        self.holderPid = holderPid
    }
}
