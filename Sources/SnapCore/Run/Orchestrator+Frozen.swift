import SnapSystem

extension Orchestrator {
    /// The window itself: FIFREEZE, the snapshot bounded by the freeze deadline, the thaw. No disk
    /// writes from here to the thaw: results stay in memory.
    ///
    /// Safety contract: thaws on every path (the guard thaws on its own at the deadline).
    func openWindow(
        _ session: any FreezeSession, _ prepared: (any PreparedSnapshot)?, _ setup: RunSetup,
        _ window: inout WindowResult, holds: inout HoldStage
    ) async {
        let plan = setup.plan
        let config = setup.config
        FaultPoint.hit("before-freeze")
        let begin = setup.timer.ms
        // The dead-man of every hold: the guard ends the holders if the deadline strikes.
        let holders = Self.holders(setup.plugins)
        session.endAtDeadline(processGroups: holders.map(\.group))
        let freezeStart = setup.timer.now
        let results = await offload { session.freeze() }
        var (mounts, failed) = readFreezeResults(results, setup, &window)
        let frozenCount = mounts.filter(\.frozen).count
        FaultPoint.hit("window")
        if failed.isEmpty && frozenCount > 0 && plan.snapshots, let prepared {
            // A margin before the guard's deadline, so that a call that succeeds counts as frozen.
            let margin = TimeSpan(milliseconds: min(250, config.freeze.timeout.milliseconds / 10))
            let deadline = freezeStart + config.freeze.timeout - margin
            await announceQuiesced(setup, &window, mounts: mounts, deadline: deadline)
            let snapBegin = setup.timer.ms
            // The orchestrator never waits past the deadline, whatever the provider does: a call
            // still out by then is abandoned and the thaw goes ahead.
            window.snapshot = await Self.take(prepared, until: deadline, grace: margin.duration / 2)
            window.timeline.append(TimelineEntry(step: .snapshot, startMs: snapBegin, endMs: setup.timer.ms))
        }
        // The guard starts thawing now; the thread that collects its report comes after.
        session.requestThaw()
        let thaw = await offload { session.thaw() }
        FaultPoint.hit("thaw")
        window.timeline.append(TimelineEntry(step: .freezeWindow, startMs: begin, endMs: setup.timer.ms))
        await releaseHolds(&holds, setup, &window)
        if thaw.inFlight.isEmpty {
            await offload { session.finish() }
        } else {
            window.inFlight = session
        }
        readThawResults(thaw, &mounts)
        // Only a confirmed thaw of everything clears the journal; else `recover` must thaw.
        if mounts.allSatisfy({ (!$0.frozen || $0.thawed) && $0.mayBeFrozen != true }) { journal?.thawed() }
        window.freeze.mounts = mounts.filter { m in
            !window.freeze.skipped.contains { $0.mountPoint == m.mountPoint }
        }
        window.freeze.windowUs = thaw.windowMicros
        window.freeze.windowMs = (thaw.windowMicros + 999) / 1000
        window.freeze.deadlineHit = thaw.deadlineHit
        reportFreezeProblems(thaw, failed: failed, config, &window)
        Self.reportDeadman(ended: thaw.deadmanEnded, holders: holders, timeout: config.freeze.timeout, &window)
        window.freezeOK =
            failed.isEmpty && frozenCount > 0 && !thaw.deadlineHit && !thaw.guardLost
            && window.freeze.mounts.allSatisfy { (!$0.frozen || $0.thawed) && $0.mayBeFrozen != true }
        if (!failed.isEmpty || frozenCount == 0) && plan.snapshots, let prepared {
            // Nothing is frozen any more (or nothing could be): a crash-consistent snapshot beats none.
            await takeUnfrozen(prepared, setup, &window)
        }
    }

    /// Each mount's FIFREEZE result; returns the mount reports and the mounts that failed to freeze.
    private func readFreezeResults(
        _ results: [MountFreezeResult], _ setup: RunSetup, _ window: inout WindowResult
    ) -> ([MountReport], [String]) {
        var mounts = setup.plan.mounts.map { MountReport(mountPoint: $0.mountPoint, fsType: $0.fsType) }
        var failed: [String] = []
        for (i, result) in results.enumerated() {
            mounts[i].frozen = result.errno == 0
            mounts[i].freezeUs = result.micros
            switch result.verdict {
            case .frozen:
                break
            case .unsupported:
                window.freeze.skipped.append(
                    SkippedMount(
                        mountPoint: result.mountPoint, fsType: mounts[i].fsType,
                        reason: "the filesystem does not support freezing (EOPNOTSUPP)"))
            case .frozenByOthers:
                mounts[i].error = "already frozen by another process (EBUSY): not ours to thaw"
                failed.append(result.mountPoint)
            case .mayBeFrozen(let timedOut):
                mounts[i].mayBeFrozen = true
                mounts[i].error =
                    timedOut
                    ? "FIFREEZE did not return within the freeze timeout (\(setup.config.freeze.timeout)); it may still freeze this filesystem"
                    : "the freeze guard never reported on this mount; it may be frozen"
                failed.append(result.mountPoint)
            case .failed(let code):
                mounts[i].error = "FIFREEZE: \(code.message)"
                failed.append(result.mountPoint)
            }
        }
        return (mounts, failed)
    }

    /// Each mount's thaw as the guard (or snaporch itself) reported it.
    private func readThawResults(_ thaw: ThawOutcome, _ mounts: inout [MountReport]) {
        for i in mounts.indices where mounts[i].mayBeFrozen == true {
            let mp = mounts[i].mountPoint
            if thaw.inFlight.contains(mp) {
                mounts[i].error! +=
                    "; the guard (pid \(thaw.guardPid ?? 0)) stays to thaw it the moment it returns — until then run: snaporch thaw \(mp)"
            } else if thaw.thawResult(mp)?.confirmsThaw == true {
                // The guard stopped answering and snaporch thawed it itself: known thawed now.
                mounts[i].mayBeFrozen = nil
                mounts[i].thawed = true
            }
        }
        for i in mounts.indices where mounts[i].frozen {
            // No answer for a frozen mount means nobody confirmed its thaw.
            let e = thaw.thawResult(mounts[i].mountPoint) ?? .failed(.ioError)
            mounts[i].thawed = e.confirmsThaw
            if !mounts[i].thawed {
                mounts[i].error =
                    "FITHAW: \(e.errnoDescription) — run: snaporch thaw \(mounts[i].mountPoint)"
            }
        }
    }

    /// The window's errors and reasons: a lost guard, mounts that could not be frozen, a deadline hit.
    private func reportFreezeProblems(
        _ thaw: ThawOutcome, failed: [String], _ config: Config, _ window: inout WindowResult
    ) {
        if thaw.guardLost {
            window.freeze.error =
                "the freeze guard died or stopped answering inside the window; snaporch thawed the mounts itself"
            window.errors.append(ErrorEntry(.fsFreezeFailed, window.freeze.error!))
        }
        if !failed.isEmpty {
            let message =
                "could not freeze \(failed.joined(separator: ", ")); every mount we froze was thawed before any snapshot"
            window.freeze.error = message
            window.errors.append(ErrorEntry(.fsFreezeFailed, message))
            window.reasons.append("freeze: \(message)")
        }
        if thaw.deadlineHit && !thaw.inFlight.isEmpty {
            let message =
                "FIFREEZE of \(thaw.inFlight.joined(separator: ", ")) was still running at the deadline (\(config.freeze.timeout)); the other mounts were thawed before any snapshot"
            window.errors.append(ErrorEntry(.fsFreezeTimeout, message))
            window.reasons.append(message)
        } else if thaw.deadlineHit {
            let by = thaw.guardLost ? "by snaporch itself (the guard did not answer)" : "by the guard"
            let message =
                "the freeze window hit its deadline (\(config.freeze.timeout)) and was thawed \(by) before the snapshot finished"
            window.freeze.error = message
            window.errors.append(ErrorEntry(.fsFreezeTimeout, message))
            window.reasons.append(message)
        }
    }

    /// After the post steps: looks (bounded, one second) at FIFREEZE calls that were still in flight
    /// at the deadline. One that returned was thawed at once by the guard: the mount is known thawed
    /// and leaves the journal. One still running stays "may be frozen" in the report and the journal,
    /// and the guard stays alive to thaw it; the run never waits for it.
    func settleInFlight(_ session: any FreezeSession, _ window: inout WindowResult) async {
        let late = await offload { session.settleInFlight(waitUpTo: .seconds(1)) }
        await offload { session.finish() }
        for i in window.freeze.mounts.indices {
            guard let result = late[window.freeze.mounts[i].mountPoint] else { continue }
            let ms = result.micros / 1000
            if result.knownThawed {
                window.freeze.mounts[i].mayBeFrozen = nil
                window.freeze.mounts[i].thawed = result.freezeErrno == 0
                window.freeze.mounts[i].error =
                    result.freezeErrno == 0
                    ? "FIFREEZE returned \(ms) ms after it started, past the deadline; the guard thawed it at once"
                    : "FIFREEZE failed after \(ms) ms: \(result.freezeErrorDescription)"
            } else {
                window.freeze.mounts[i].error =
                    "FIFREEZE returned after \(ms) ms and FITHAW failed: \(result.thawErrorDescription) — run: snaporch thaw \(window.freeze.mounts[i].mountPoint)"
            }
        }
        let unsure = window.freeze.mounts.contains { $0.mayBeFrozen == true || ($0.frozen && !$0.thawed) }
        if !unsure { journal?.thawed() }
    }
}
