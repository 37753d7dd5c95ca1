import SnapSystem

/// The consistency the run reached, known before the posts so that post scripts can be told.
struct Verdict: PhaseRecord {
    /// True when a snapshot was taken.
    var snapshotTaken: Bool
    /// The consistency of that snapshot.
    var consistency: RunReport.Consistency
    /// Plugins that downgraded the run (failed pre under on_failure: continue, or a lost hold).
    var degradedBy: [String]
    var reasons: [String] = []

    /// What post scripts learn as `SNAPORCH_OUTCOME`.
    var outcome: StepOutcome { StepOutcome(taken: snapshotTaken) }
}

extension Orchestrator {
    /// VERDICT: the consistency from the pre, window and verify results, with the reasons for a
    /// downgrade. Without any plugin that quiesces an application, a frozen snapshot is
    /// filesystem-consistent, not application-consistent.
    static func verdict(_ plan: Plan, pre: PreResult, window: WindowResult, verify: VerifyResult) -> Verdict {
        let degradedBy = pre.degradedBy + (window.holds?.degradedBy ?? []) + verify.degradedBy
        // A platform that freezes (qemu-ga, VMware Tools) froze around the snapshot it reports taken.
        let platformFroze = plan.platformFreezes && window.snapshot.taken
        let freezeOK = window.freezeOK || platformFroze
        let quiesces = plan.entries.contains(where: \.quiesces)
        var verdict = Verdict(
            snapshotTaken: window.snapshot.taken,
            consistency: Self.consistency(
                snapshot: window.snapshot.taken, freezeOK: freezeOK, degraded: !degradedBy.isEmpty || !quiesces),
            degradedBy: degradedBy)
        if verdict.consistency == .filesystem && !quiesces {
            verdict.reasons.append("no plugin quiesces an application: the snapshot is filesystem-consistent")
        }
        if window.snapshot.taken && !freezeOK && plan.freezes {
            verdict.reasons.append("the freeze did not hold (see freeze): the snapshot is only crash-consistent")
        } else if window.snapshot.taken && !plan.freezes && plan.options.split != nil && !platformFroze {
            verdict.reasons.append(
                "filesystems were not frozen (begin without --freeze, and the platform does not freeze): crash-consistent"
            )
        } else if window.snapshot.taken && !plan.freezes && !platformFroze {
            verdict.reasons.append(
                "filesystems were not frozen (\(plan.options.freeze ? "freeze.enabled: false" : "--no-freeze")): crash-consistent"
            )
        }
        return verdict
    }

    /// The consistency a snapshot reached.
    static func consistency(snapshot: Bool, freezeOK: Bool, degraded: Bool) -> RunReport.Consistency {
        if !snapshot { return .none }
        if !freezeOK { return .crash }
        return degraded ? .filesystem : .application
    }

    /// The outcome: success when everything requested worked, degraded when a snapshot (or a
    /// rehearsal) went through with a downgrade, failed when nothing usable came out.
    static func outcome(plan: Plan, report: RunReport, aborted: Bool, freezeOK: Bool, degraded: Bool)
        -> RunReport.Outcome
    {
        if aborted { return .failed }
        if plan.snapshots {
            guard report.snapshot.taken else { return .failed }
            if report.snapshot.disks.contains(where: { !$0.ok }) { return .degraded }
            // Skipping the freeze on purpose makes crash-consistency the best a run can do.
            let best: RunReport.Consistency =
                !plan.freezes && !plan.platformFreezes
                ? .crash : plan.entries.contains(where: \.quiesces) ? .application : .filesystem
            return report.consistency == best && !degraded ? .success : .degraded
        }
        if plan.freezes && !freezeOK { return .failed }
        return degraded ? .degraded : .success
    }
}
