import SnapSystem

/// The exit code of a run (`snaporch run`, `snaporch end`, a `begin` that ended before quiescing):
/// 0 success, 3 snapshot taken but degraded (or a degraded rehearsal), 1 failed, 2 usage/config.
package enum RunExit {
    /// Success.
    package static let ok: Int32 = 0
    /// Failed, no snapshot.
    package static let failed: Int32 = 1
    /// Usage or configuration error.
    package static let usage: Int32 = 2
    /// Snapshot taken, consistency degraded.
    package static let degraded: Int32 = 3

    /// The code of a finished run: `snapshots` says whether the plan snapshots; a report that could
    /// not be stored is a failure (the run happened, but nobody can read what it did).
    package static func code(_ report: RunReport, snapshots: Bool, storeProblems: [String] = []) -> Int32 {
        if !storeProblems.isEmpty { return failed }
        switch report.outcome {
        case .success: return ok
        case .degraded: return report.snapshot.taken || !snapshots ? degraded : failed
        case .failed: return failed
        }
    }
}
