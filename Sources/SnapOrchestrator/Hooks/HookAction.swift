import Foundation
import SnapCore
import SnapSystem

/// The platforms whose snapshot hooks `snaporch hook` adapts onto a split-phase run.
package enum HookPlatform: String, Sendable, CaseIterable {
    /// QEMU guest agent: `fsfreeze-hook freeze|thaw`; qemu-ga freezes.
    case qemuGA = "qemu-ga"
    /// VMware Tools: `backupScripts.d/* freeze|freezeFail|thaw`; vmtoolsd freezes.
    case vmware
    /// Google Compute Engine: `/etc/google/snapshots/pre.sh|post.sh DISKS`; nobody freezes but us.
    case gce
    /// AWS DLM through an SSM command document: `pre-script|post-script|dry-run`; we freeze.
    case aws

    /// The operations the platform passes, in the order of a cycle.
    package var operations: [String] {
        switch self {
        case .qemuGA: ["freeze", "thaw"]
        case .vmware: ["freeze", "freezeFail", "thaw"]
        case .gce: ["pre", "post"]
        case .aws: ["pre-script", "post-script", "dry-run"]
        }
    }

    /// True when the platform freezes the filesystems itself (snaporch then only quiesces).
    package var platformFreezes: Bool { self == .qemuGA || self == .vmware }
}

/// What one hook invocation asks of the split-phase run.
package enum HookAction: Sendable, Equatable {
    /// Quiesce: `snaporch begin` with these options.
    case begin(HookBegin)
    /// Resume: `snaporch end`, possibly telling it the platform's snapshot failed.
    case end(HookEnd)
    /// Check only: print the plan (`snaporch run --dry-run`), change nothing.
    case dryRun(HookPlatform)
}

/// A `begin` asked for by a platform hook.
package struct HookBegin: Sendable, Equatable {
    /// Who called (recorded in the report).
    package var caller: HookPlatform
    /// Whether snaporch freezes (false when the platform does).
    package var freeze: Bool
    /// The mounts to freeze; empty: the configured selection.
    package var mounts: [String]
    /// What the adapter decided and why (e.g. a disk list that could not be mapped).
    package var notes: [String]

    /// Creates the request.
    package init(caller: HookPlatform, freeze: Bool, mounts: [String] = [], notes: [String] = []) {
        self.caller = caller
        self.freeze = freeze
        self.mounts = mounts
        self.notes = notes
    }
}

/// An `end` asked for by a platform hook.
package struct HookEnd: Sendable, Equatable {
    /// Who called (recorded in the report).
    package var caller: HookPlatform
    /// Set when the platform says its snapshot failed: the posts learn `no-snapshot`.
    package var snapshotFailed: String?
    /// Set for a platform that retries a failed call: a repeated `end` gets the same result.
    package var repeatWithin: TimeSpan?

    /// Creates the request.
    package init(caller: HookPlatform, snapshotFailed: String? = nil, repeatWithin: TimeSpan? = nil) {
        self.caller = caller
        self.snapshotFailed = snapshotFailed
        self.repeatWithin = repeatWithin
    }
}

/// A hook called with arguments its platform never passes.
package struct HookUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    /// Creates the error.
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
