import Foundation
import SnapSystem

extension Orchestrator {
    /// Opens and closes the freeze window around the snapshot; returns whether the freeze held.
    /// A session with a FIFREEZE still in flight is handed back in `inFlight` (never waited for
    /// here): `settleInFlight` looks at it again after the post steps.
    func window(
        _ plan: Plan, _ report: inout RunReport, _ clock: RunClock, inFlight: inout (any FreezeSession)?,
        holds: inout HoldStage
    ) async -> Bool {
        let config = plan.config
        report.freeze.enabled = plan.freezes
        report.freeze.skipped = plan.skippedMounts
        report.snapshot.provider = plan.snapshots ? config.snapshot.provider : .none

        // Everything that can happen before the window happens here.
        var prepared: (any PreparedSnapshot)?
        if plan.snapshots {
            let begin = clock.ms
            if let provider = makeProvider(plan) {
                do {
                    prepared = try await provider.prepare()
                } catch {
                    report.snapshot.error = error.message
                    report.errors.append(ErrorEntry(error.code, error.message))
                }
            } else {
                let message = "snapshot provider '\(config.snapshot.provider.rawValue)' is not available in this build"
                report.snapshot.error = message
                report.errors.append(ErrorEntry(.generic, message))
            }
            report.timeline.append(TimelineEntry(step: .snapshotPrepare, startMs: begin, endMs: clock.ms))
            if prepared == nil {
                report.reasons.append("no snapshot: \(report.snapshot.error ?? "provider unavailable")")
                return false
            }
        }
        var session: (any FreezeSession)?
        if plan.freezes {
            for error in plan.mountErrors {
                report.errors.append(ErrorEntry(.fsFreezeFailed, error))
                report.freeze.error = error
            }
            if !plan.mountErrors.isEmpty {
                report.reasons.append("freeze: \(plan.mountErrors.joined(separator: "; "))")
            } else if plan.mounts.isEmpty {
                report.freeze.error = "no mount selected"
                report.reasons.append("freeze: no mount was selected, nothing was frozen")
            } else {
                let begin = clock.ms
                let mounts = plan.mounts
                let timeout = config.freeze.timeout
                let freezer = self.freezer
                let result = await offload { () -> Result<any FreezeSession, FreezeError> in
                    do throws(FreezeError) { return .success(try freezer.prepare(mounts, timeout: timeout)) } catch {
                        return .failure(error)
                    }
                }
                switch result {
                case .success(let s): session = s
                case .failure(let error):
                    report.freeze.error = error.message
                    report.errors.append(ErrorEntry(error.code, error.message))
                    report.reasons.append("freeze: \(error.message)")
                }
                report.timeline.append(TimelineEntry(step: .freezePrepare, startMs: begin, endMs: clock.ms))
            }
        }

        // Without a journal on disk nobody could finish this run's duties after a crash: no freeze.
        if let ready = session {
            let rcu = config.freeze.expediteRCU ? RCUExpedite.current().map { String(UnicodeScalar($0)) } : nil
            if let problem = journal?.freezing(plan.mounts.map(\.mountPoint), rcuExpedited: rcu) {
                await offload { ready.cancel() }
                session = nil
                let message = "refusing to freeze: \(problem)"
                report.freeze.error = message
                report.errors.append(ErrorEntry(.fsFreezeFailed, message))
                report.reasons.append("freeze: \(message)")
                journal?.thawed()
            }
        }

        // The holds, last of all preparations, right before the first FIFREEZE or the snapshot call.
        if !holds.isEmpty {
            await takeHolds(&holds, plan, &report, clock)
            if holds.aborted {
                if let ready = session {
                    await offload { ready.cancel() }
                    journal?.thawed()
                }
                await releaseHolds(&holds, plan, &report, clock)
                return false
            }
        }

        // The window. No disk writes from here to the thaw: results stay in memory.
        var freezeOK = false
        if let session {
            FaultPoint.hit("before-freeze")
            let begin = clock.ms
            let freezeStart = clock.now
            let results = await offload { session.freeze() }
            var mounts = plan.mounts.map { MountReport(mountPoint: $0.mountPoint, fsType: $0.fsType) }
            var failed: [String] = []
            for (i, result) in results.enumerated() {
                mounts[i].frozen = result.errno == 0
                mounts[i].freezeUs = result.micros
                switch result.verdict {
                case .frozen:
                    break
                case .unsupported:
                    report.freeze.skipped.append(
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
                        ? "FIFREEZE did not return within the freeze timeout (\(config.freeze.timeout)); it may still freeze this filesystem"
                        : "the freeze guard never reported on this mount; it may be frozen"
                    failed.append(result.mountPoint)
                case .failed(let code):
                    mounts[i].error = "FIFREEZE: \(code.message)"
                    failed.append(result.mountPoint)
                }
            }
            let frozenCount = mounts.filter(\.frozen).count
            FaultPoint.hit("window")
            if failed.isEmpty && frozenCount > 0 && plan.snapshots, let prepared {
                // A margin before the guard's deadline, so that a call that succeeds counts as frozen.
                let margin = UInt64(min(250, config.freeze.timeout.milliseconds / 10)) * 1_000_000
                let deadline = freezeStart + UInt64(config.freeze.timeout.milliseconds) * 1_000_000 - margin
                let snapBegin = clock.ms
                // The orchestrator never waits past the deadline, whatever the provider does: a call
                // still out by then is abandoned and the thaw goes ahead.
                report.snapshot = await Self.take(prepared, deadlineNanos: deadline, grace: margin / 2)
                report.timeline.append(TimelineEntry(step: .snapshot, startMs: snapBegin, endMs: clock.ms))
            }
            // The guard starts thawing now; the thread that collects its report comes after.
            session.requestThaw()
            let thaw = await offload { session.thaw() }
            FaultPoint.hit("thaw")
            report.timeline.append(TimelineEntry(step: .freezeWindow, startMs: begin, endMs: clock.ms))
            await releaseHolds(&holds, plan, &report, clock)
            if thaw.inFlight.isEmpty {
                await offload { session.finish() }
            } else {
                inFlight = session
            }
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
            // Only a confirmed thaw of everything clears the journal; else `recover` must thaw.
            if mounts.allSatisfy({ (!$0.frozen || $0.thawed) && $0.mayBeFrozen != true }) { journal?.thawed() }
            report.freeze.mounts = mounts.filter { m in
                !report.freeze.skipped.contains { $0.mountPoint == m.mountPoint }
            }
            report.freeze.windowUs = thaw.windowMicros
            report.freeze.windowMs = (thaw.windowMicros + 999) / 1000
            report.freeze.deadlineHit = thaw.deadlineHit
            if thaw.guardLost {
                report.freeze.error =
                    "the freeze guard died or stopped answering inside the window; snaporch thawed the mounts itself"
                report.errors.append(ErrorEntry(.fsFreezeFailed, report.freeze.error!))
            }
            if !failed.isEmpty {
                let message =
                    "could not freeze \(failed.joined(separator: ", ")); every mount we froze was thawed before any snapshot"
                report.freeze.error = message
                report.errors.append(ErrorEntry(.fsFreezeFailed, message))
                report.reasons.append("freeze: \(message)")
            }
            if thaw.deadlineHit && !thaw.inFlight.isEmpty {
                let message =
                    "FIFREEZE of \(thaw.inFlight.joined(separator: ", ")) was still running at the deadline (\(config.freeze.timeout)); the other mounts were thawed before any snapshot"
                report.errors.append(ErrorEntry(.fsFreezeTimeout, message))
                report.reasons.append(message)
            } else if thaw.deadlineHit {
                let by = thaw.guardLost ? "by snaporch itself (the guard did not answer)" : "by the guard"
                let message =
                    "the freeze window hit its deadline (\(config.freeze.timeout)) and was thawed \(by) before the snapshot finished"
                report.freeze.error = message
                report.errors.append(ErrorEntry(.fsFreezeTimeout, message))
                report.reasons.append(message)
            }
            freezeOK =
                failed.isEmpty && frozenCount > 0 && !thaw.deadlineHit && !thaw.guardLost
                && report.freeze.mounts.allSatisfy { (!$0.frozen || $0.thawed) && $0.mayBeFrozen != true }
            if (!failed.isEmpty || frozenCount == 0) && plan.snapshots, let prepared {
                // Nothing is frozen any more (or nothing could be): a crash-consistent snapshot beats none.
                let snapBegin = clock.ms
                report.snapshot = await Self.take(
                    prepared, deadlineNanos: clock.now + UInt64(config.snapshot.timeout.milliseconds) * 1_000_000,
                    grace: 250_000_000)
                report.timeline.append(TimelineEntry(step: .snapshot, startMs: snapBegin, endMs: clock.ms))
            }
        } else if plan.snapshots, let prepared {
            let snapBegin = clock.ms
            report.snapshot = await Self.take(
                prepared, deadlineNanos: clock.now + UInt64(config.snapshot.timeout.milliseconds) * 1_000_000,
                grace: 250_000_000)
            report.timeline.append(TimelineEntry(step: .snapshot, startMs: snapBegin, endMs: clock.ms))
        }
        if !holds.released { await releaseHolds(&holds, plan, &report, clock) }
        if plan.snapshots {
            if report.snapshot.provider == .none { report.snapshot.provider = config.snapshot.provider }
            let code = report.snapshot.errorCode
            if !report.snapshot.taken {
                let message = report.snapshot.error ?? "no disk was snapshotted"
                report.reasons.append("no snapshot: \(message)")
                if !report.errors.contains(where: { ErrorCode.snapshotFailures.contains($0.code) }) {
                    report.errors.append(ErrorEntry(code ?? .snapshotFailedNoNetwork, message))
                }
            } else if let code, let message = report.snapshot.error {
                report.errors.append(ErrorEntry(code, message))
                report.reasons.append("snapshot incomplete: \(message)")
            }
        }
        return freezeOK
    }

    /// Takes the snapshot, waiting for it until `deadlineNanos + grace` at the latest.
    static func take(_ prepared: any PreparedSnapshot, deadlineNanos: UInt64, grace: UInt64) async -> SnapshotReport {
        let provider = prepared
        return await awaitBounded(
            until: deadlineNanos + grace,
            fallback: {
                var report = SnapshotReport()
                report.error =
                    "the snapshot call(s) had not returned at their deadline: abandoned so that the thaw goes ahead "
                    + "(a snapshot the service still completes later is not consistent)"
                report.errorCode = .snapshotFailedNoNetwork
                return report
            },
            { await provider.take(deadlineNanos: deadlineNanos) })
    }
}

extension Orchestrator {
    /// After the post steps: looks (bounded, one second) at FIFREEZE calls that were still in flight
    /// at the deadline. One that returned was thawed at once by the guard: the mount is known thawed
    /// and leaves the journal. One still running stays "may be frozen" in the report and the journal,
    /// and the guard stays alive to thaw it; the run never waits for it.
    func settleInFlight(_ session: any FreezeSession, _ report: inout RunReport) async {
        let late = await offload { session.settleInFlight(waitUpTo: .seconds(1)) }
        await offload { session.finish() }
        for i in report.freeze.mounts.indices {
            guard let result = late[report.freeze.mounts[i].mountPoint] else { continue }
            let ms = result.micros / 1000
            if result.knownThawed {
                report.freeze.mounts[i].mayBeFrozen = nil
                report.freeze.mounts[i].thawed = result.freezeErrno == 0
                report.freeze.mounts[i].error =
                    result.freezeErrno == 0
                    ? "FIFREEZE returned \(ms) ms after it started, past the deadline; the guard thawed it at once"
                    : "FIFREEZE failed after \(ms) ms: \(result.freezeErrorDescription)"
            } else {
                report.freeze.mounts[i].error =
                    "FIFREEZE returned after \(ms) ms and FITHAW failed: \(result.thawErrorDescription) — run: snaporch thaw \(report.freeze.mounts[i].mountPoint)"
            }
        }
        let unsure = report.freeze.mounts.contains { $0.mayBeFrozen == true || ($0.frozen && !$0.thawed) }
        if !unsure { journal?.thawed() }
    }
}
