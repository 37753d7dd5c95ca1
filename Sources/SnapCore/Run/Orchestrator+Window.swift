import SnapSystem

/// What the window phase did: the freeze and the snapshot, whether the freeze held, and a guard
/// session with a FIFREEZE still in flight (looked at again after the posts).
struct WindowResult: PhaseRecord {
    /// The freeze part of the report.
    var freeze = FreezeReport()
    /// The snapshot part of the report.
    var snapshot = SnapshotReport()
    /// True when every selected mount was frozen and thawed in time around the snapshot.
    var freezeOK = false
    /// A session with a FIFREEZE still in flight at the deadline (never waited for in the window).
    var inFlight: (any FreezeSession)?
    /// The hold stage taken around the window, when any plugin has one.
    var holds: HoldStage?
    /// The begin part of a split-phase run, until it is announced.
    var quiesce: QuiesceDraft?
    var errors: [ErrorEntry] = []
    var reasons: [String] = []
    var timeline: [TimelineEntry] = []

    /// The window of a run that opens it: what the plan selected and skipped.
    init(opening plan: Plan) {
        freeze.enabled = plan.freezes
        freeze.skipped = plan.skippedMounts
        snapshot.provider = plan.snapshots ? plan.config.snapshot.provider : .none
    }

    /// The window of a run that stopped before it (the pre phase aborted).
    init(skipping plan: Plan) {
        freeze.enabled = plan.freezes
        snapshot.provider = plan.config.snapshot.provider
    }
}

extension Orchestrator {
    /// FREEZE → SNAPSHOT → THAW. Everything that can happen before the window (the provider's
    /// preparation, the guard, the journal) happens first; a session with a FIFREEZE still in
    /// flight is handed back in `inFlight` (never waited for here).
    func runWindow(_ setup: RunSetup, pre: PreResult) async -> WindowResult {
        let plan = setup.plan
        var window = WindowResult(opening: plan)
        var prepared: (any PreparedSnapshot)?
        if plan.snapshots {
            prepared = await prepareSnapshot(setup, &window)
            if prepared == nil {
                window.reasons.append("no snapshot: \(window.snapshot.error ?? "provider unavailable")")
                return window
            }
        }
        let session = await prepareFreeze(setup, &window)
        // The holds, last of all preparations, right before the first FIFREEZE or the snapshot call.
        var holds = HoldStage(plugins: setup.plugins, pre: pre)
        if !holds.isEmpty {
            await takeHolds(&holds, setup, &window)
            if holds.aborted {
                if let session {
                    await offload { session.cancel() }
                    journal?.thawed()
                }
                await releaseHolds(&holds, setup, &window)
                window.holds = holds
                return window
            }
        }
        window.quiesce = quiesceDraft(setup, pre: pre, holds: holds, window: window)
        if let session {
            await openWindow(session, prepared, setup, &window, holds: &holds)
        } else if plan.snapshots, let prepared {
            await takeUnfrozen(prepared, setup, &window)
        }
        if !holds.released { await releaseHolds(&holds, setup, &window) }
        if !holds.isEmpty { window.holds = holds }
        if plan.snapshots { judgeSnapshot(setup, &window) }
        return window
    }

    /// The snapshot provider's preparation (outside the window); nil when it is unavailable or failed.
    private func prepareSnapshot(_ setup: RunSetup, _ window: inout WindowResult) async -> (any PreparedSnapshot)? {
        var prepared: (any PreparedSnapshot)?
        let begin = setup.timer.ms
        if let provider = makeProvider(setup.plan) {
            do {
                prepared = try await provider.prepare()
            } catch {
                window.snapshot.error = error.message
                window.errors.append(ErrorEntry(error.code, error.message))
            }
        } else {
            let message =
                "snapshot provider '\(setup.config.snapshot.provider.rawValue)' is not available in this build"
            window.snapshot.error = message
            window.errors.append(ErrorEntry(.generic, message))
        }
        window.timeline.append(TimelineEntry(step: .snapshotPrepare, startMs: begin, endMs: setup.timer.ms))
        return prepared
    }

    /// The guard's preparation; nil when nothing is to be frozen or it failed. Without a journal on
    /// disk nobody could finish this run's duties after a crash: then no freeze either.
    private func prepareFreeze(_ setup: RunSetup, _ window: inout WindowResult) async -> (any FreezeSession)? {
        let plan = setup.plan
        guard plan.freezes else { return nil }
        for error in plan.mountErrors {
            window.errors.append(ErrorEntry(.fsFreezeFailed, error))
            window.freeze.error = error
        }
        if !plan.mountErrors.isEmpty {
            window.reasons.append("freeze: \(plan.mountErrors.joined(separator: "; "))")
            return nil
        } else if plan.mounts.isEmpty {
            window.freeze.error = "no mount selected"
            window.reasons.append("freeze: no mount was selected, nothing was frozen")
            return nil
        }
        let begin = setup.timer.ms
        let mounts = plan.mounts
        let timeout = setup.config.freeze.timeout
        let freezer = self.freezer
        let result = await offload { () -> Result<any FreezeSession, FreezeError> in
            do throws(FreezeError) { return .success(try freezer.prepare(mounts, timeout: timeout)) } catch {
                return .failure(error)
            }
        }
        var session: (any FreezeSession)?
        switch result {
        case .success(let s): session = s
        case .failure(let error):
            window.freeze.error = error.message
            window.errors.append(ErrorEntry(error.code, error.message))
            window.reasons.append("freeze: \(error.message)")
        }
        window.timeline.append(TimelineEntry(step: .freezePrepare, startMs: begin, endMs: setup.timer.ms))
        guard let ready = session else { return nil }
        let rcu = setup.config.freeze.expediteRCU ? RCUExpedite.current().map { String(UnicodeScalar($0)) } : nil
        if let problem = journal?.freezing(plan.mounts.map(\.mountPoint), rcuExpedited: rcu) {
            await offload { ready.cancel() }
            let message = "refusing to freeze: \(problem)"
            window.freeze.error = message
            window.errors.append(ErrorEntry(.fsFreezeFailed, message))
            window.reasons.append("freeze: \(message)")
            journal?.thawed()
            return nil
        }
        return ready
    }

    /// A snapshot without a freeze (none asked for, or none possible), bounded by `snapshot.timeout`.
    func takeUnfrozen(_ prepared: any PreparedSnapshot, _ setup: RunSetup, _ window: inout WindowResult) async {
        let deadline = setup.timer.deadline(after: setup.config.snapshot.timeout)
        await announceQuiesced(setup, &window, mounts: window.freeze.mounts, deadline: deadline)
        let snapBegin = setup.timer.ms
        window.snapshot = await Self.take(prepared, until: deadline, grace: .milliseconds(250))
        window.timeline.append(TimelineEntry(step: .snapshot, startMs: snapBegin, endMs: setup.timer.ms))
    }

    /// The snapshot's errors and reasons once the window is closed.
    private func judgeSnapshot(_ setup: RunSetup, _ window: inout WindowResult) {
        if window.snapshot.provider == .none { window.snapshot.provider = setup.config.snapshot.provider }
        let code = window.snapshot.errorCode
        if !window.snapshot.taken {
            let message = window.snapshot.error ?? "no disk was snapshotted"
            window.reasons.append("no snapshot: \(message)")
            if !window.errors.contains(where: { ErrorCode.snapshotFailures.contains($0.code) }) {
                window.errors.append(ErrorEntry(code ?? .snapshotFailedNoNetwork, message))
            }
        } else if let code, let message = window.snapshot.error {
            window.errors.append(ErrorEntry(code, message))
            window.reasons.append("snapshot incomplete: \(message)")
        }
    }

    /// Takes the snapshot, waiting for it until `deadline + grace` at the latest (a provider that
    /// `boundsItself` is awaited as it is).
    static func take(_ prepared: any PreparedSnapshot, until deadline: MonotonicInstant, grace: Duration) async
        -> SnapshotReport
    {
        let provider = prepared
        if provider.boundsItself { return await provider.take(deadlineNanos: deadline.nanoseconds) }
        return await awaitBounded(
            until: (deadline + grace).nanoseconds,
            fallback: {
                var report = SnapshotReport()
                report.error =
                    "the snapshot call(s) had not returned at their deadline: abandoned so that the thaw goes ahead "
                    + "(a snapshot the service still completes later is not consistent)"
                report.errorCode = .snapshotFailedNoNetwork
                return report
            },
            { await provider.take(deadlineNanos: deadline.nanoseconds) })
    }
}
