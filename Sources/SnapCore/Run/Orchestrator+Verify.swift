import SnapSystem

/// What the after-thaw check found: quiesces that no longer held when the snapshot was taken.
struct VerifyResult: PhaseRecord {
    /// Plugins whose hold was lost (the consistency is downgraded).
    var degradedBy: [String] = []
    var errors: [ErrorEntry] = []
    var reasons: [String] = []
}

extension Orchestrator {
    /// VERIFY: when a snapshot was taken, a quiesce that lives in a session (a database lock) must
    /// still hold after the thaw; asks every plugin whose pre succeeded.
    func verifyHolds(_ setup: RunSetup, pre: PreResult, window: WindowResult) async -> VerifyResult {
        var verify = VerifyResult()
        guard window.snapshot.taken else { return verify }
        for index in pre.started where pre.steps[index]?.ok == true && !setup.plugins[index].hasHold {
            let name = setup.plugins[index].spec.name
            if let problem = await setup.plugins[index].verifyHeld() {
                verify.degradedBy.append(name)
                verify.reasons.append("'\(name)': \(problem)")
                verify.errors.append(ErrorEntry(.workloadQuiescingTimeout, "plugin '\(name)': \(problem)"))
            }
        }
        return verify
    }
}
