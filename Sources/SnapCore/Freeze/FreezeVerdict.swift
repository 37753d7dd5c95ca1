import SnapSystem

/// The freeze layer's reading of FIFREEZE and FITHAW results: which errno means what for a freeze
/// window. The pipeline asks these questions instead of comparing errno values itself.
extension FreezeIoctlResult {
    /// FITHAW: true when the filesystem is known not to be frozen any more (thawed now, or `EINVAL`:
    /// it was not frozen).
    package var confirmsThaw: Bool { self == .done || wasNotFrozen }

    /// FITHAW failed with `EINVAL`: the filesystem was not frozen.
    package var wasNotFrozen: Bool { self == .failed(.invalidArgument) }

    /// The kernel's text for a failure ("Invalid argument"), empty when done.
    package var errnoDescription: String {
        switch self {
        case .done: ""
        case .failed(let code): code.message
        }
    }
}

/// What FIFREEZE on one mount means for the window.
package enum FreezeVerdict: Sendable, Hashable {
    /// Frozen by this run.
    case frozen
    /// The filesystem does not support freezing (`EOPNOTSUPP`): skipped, not an error.
    case unsupported
    /// Already frozen by another process (`EBUSY`): not ours to thaw.
    case frozenByOthers
    /// FIFREEZE was still running at the deadline (`timedOut`) or the guard never answered: the
    /// filesystem may become or be frozen.
    case mayBeFrozen(timedOut: Bool)
    /// FIFREEZE failed with this errno.
    case failed(Errno)
}

extension MountFreezeResult {
    /// The freeze layer's reading of this result.
    package var verdict: FreezeVerdict {
        let code = Errno(rawValue: self.errno)
        if code == .notSupported { return .unsupported }
        if code == .busy { return .frozenByOthers }
        if inFlight { return .mayBeFrozen(timedOut: code == .timedOut) }
        return self.errno == 0 ? .frozen : .failed(code)
    }
}

extension ThawOutcome {
    /// FITHAW's result for `mountPoint`, nil when nobody reported one.
    package func thawResult(_ mountPoint: String) -> FreezeIoctlResult? {
        results[mountPoint].map { FreezeIoctlResult(errnoValue: $0) }
    }
}

extension LateFreeze {
    /// The late FIFREEZE's failure text ("Invalid argument"), for the report.
    package var freezeErrorDescription: String { FreezeIoctlResult(errnoValue: freezeErrno).errnoDescription }
    /// The FITHAW failure text that followed it, for the report.
    package var thawErrorDescription: String { FreezeIoctlResult(errnoValue: thawErrno).errnoDescription }
}
