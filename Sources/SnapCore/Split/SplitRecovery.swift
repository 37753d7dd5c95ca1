import Foundation
import SnapSystem

/// Finishes a split-phase run whose holder died (kill -9, a crash): thaws what the journal says
/// may be frozen, runs the owed releases and posts in reverse, and stores a report that says
/// "holder died" — what `end`, a `begin` whose holder died before quiescing, and `recover` do.
///
/// The database sessions died with the holder (their clients read EOF) and the freeze guard
/// thawed when its parent disappeared; this finishes the rest.
package struct SplitRecovery: Sendable {
    let paths: Paths
    let launcher: any ProcessLauncher

    /// Creates the recovery.
    package init(paths: Paths, launcher: any ProcessLauncher = PosixProcessLauncher()) {
        self.paths = paths
        self.launcher = launcher
    }

    /// Recovers the dead holder of `state` (when known) under the run lock, waiting up to
    /// `lockWait` for the lock (a holder that is still exiting). Returns the "holder died" report,
    /// its exit code, and whether this finished the run (false: another run holds the lock).
    package func holderDied(
        _ state: SplitState?, config: Config?, lockWait: TimeSpan = .seconds(10)
    ) async -> (report: RunReport, exitCode: Int32, finished: Bool) {
        let lock = try? await RunLock.acquire(directory: paths.runDir, waitUpTo: lockWait)
        defer { withExtendedLifetime(lock) {} }
        let journal = RunJournal(directory: paths.runDir)
        var recovered: [RecoveredStep] = []
        var thawed: [EmergencyThaw.Result] = []
        let leftover = lock == nil ? nil : journal.leftover()
        if let leftover {
            let killGrace = config?.killGrace ?? Config().killGrace
            (recovered, thawed) = await Recovery(launcher: launcher, killGrace: killGrace).recover(leftover)
            journal.discard(keeping: Recovery.left(recovered, of: leftover), of: leftover)
        }
        let report = Self.report(state, leftover: leftover, recovered: recovered, thawed: thawed, locked: lock != nil)
        // Without the lock the split files and the state directory belong to the run that holds
        // it (a new holder, which recovers the dead one's journal and keeps its books itself).
        guard lock != nil else { return (report, RunExit.failed, false) }
        _ = ReportStore(paths: paths).save(report, extra: nil)
        finish(report, state: state)
        return (report, RunExit.failed, true)
    }

    /// The bookkeeping after a recovery that found a split run's journal (`recover`, a later run):
    /// the report, `last.json`, no state file. None for a run that ended on its own and kept its
    /// journal for a thaw it could not confirm: its holder kept its own books.
    package func recorded(_ leftover: JournalState, recovered: [RecoveredStep], thawed: [EmergencyThaw.Result]) {
        guard leftover.finished != true else { return }
        let files = SplitFiles(paths: paths)
        let state = files.load(SplitState.self, from: files.state).flatMap { $0.runId == leftover.runId ? $0 : nil }
        let report = Self.report(state, leftover: leftover, recovered: recovered, thawed: thawed, locked: true)
        _ = ReportStore(paths: paths).save(report, extra: nil)
        var last = lastRecord(report)
        last.collected = false
        try? files.save(last, to: files.last)
        _ = FileSystem.remove(files.state)
        _ = FileSystem.remove(files.socket)
    }

    /// Under the run lock (held by the caller, a new holder): finishes a split run whose holder died
    /// and that nobody recovered yet, as `recover` would, so that its own report says "holder died".
    package func finishStale(killGrace: TimeSpan) async {
        let files = SplitFiles(paths: paths)
        let journal = RunJournal(directory: paths.runDir)
        guard let stale = files.load(SplitState.self, from: files.state), !stale.holderAlive,
            let leftover = journal.leftover(), leftover.runId == stale.runId
        else { return }
        let (steps, thawed) = await Recovery(launcher: launcher, killGrace: killGrace).recover(leftover)
        journal.discard(keeping: Recovery.left(steps, of: leftover), of: leftover)
        recorded(leftover, recovered: steps, thawed: thawed)
    }

    /// Removes the dead holder's state and socket, and records the ending as collected.
    private func finish(_ report: RunReport, state: SplitState?) {
        let files = SplitFiles(paths: paths)
        try? files.save(lastRecord(report), to: files.last)
        _ = FileSystem.remove(files.state)
        _ = FileSystem.remove(files.socket)
    }

    private func lastRecord(_ report: RunReport) -> SplitLast {
        SplitLast(
            runId: report.runId, endedAt: SplitText.iso(Date()), ending: .holderDied, exitCode: RunExit.failed,
            collected: true, reportPath: ReportStore(paths: paths).lastReportPath, stored: true, report: report)
    }

    /// The report of a split run whose holder died: failed, no snapshot assumed, what was recovered.
    static func report(
        _ state: SplitState?, leftover: JournalState?, recovered: [RecoveredStep], thawed: [EmergencyThaw.Result],
        locked: Bool
    ) -> RunReport {
        let runId = state?.runId ?? leftover?.runId ?? "unknown"
        var report = RunReport(runId: runId, taskId: leftover?.taskId ?? runId)
        report.mode = .recover
        report.startedAt = state?.begunAt ?? ""
        report.recovered = recovered
        report.plugins = recovered.map { step in
            var plugin = PluginReport(name: step.plugin, type: "recovered", dropIn: false)
            plugin.post = step.result
            return plugin
        }
        let pid = state.map { " (pid \($0.pid))" } ?? (leftover.map { " (pid \($0.pid))" } ?? "")
        var message = "holder died: the holder\(pid) of split run \(runId) ended without finishing the run"
        if !locked {
            message +=
                "; the run lock stayed held by another run, which finishes the owed duties itself (if it "
                + "does not: `snaporch recover` once it ends)"
        } else if leftover == nil {
            message += "; its journal was already finished (nothing owed)"
        } else {
            let thaws = thawed.map(\.mountPoint)
            message += "; recovered: thawed \(thaws.isEmpty ? "nothing" : thaws.joined(separator: ", ")), ran "
            message += "\(recovered.count) owed release/post step(s) in reverse"
        }
        report.errors = [ErrorEntry(.splitHolderDied, message)]
        report.reasons = [message, "no snapshot can be trusted: the window closed without `end`"]
        var split = SplitReport(
            caller: state?.caller ?? leftover?.split ?? "unknown", leaseMs: state?.leaseMs ?? 0,
            windowMs: state?.leaseMs ?? 0, bound: .lease, platformFreezes: false, holderPid: state?.pid ?? 0)
        split.quiescedAt = state?.quiescedAt
        split.ending = .holderDied
        report.split = split
        if recovered.contains(where: { !$0.result.ok && $0.result.status != .skipped }) {
            report.reasons.append("an owed step failed: the application may not have resumed")
        }
        return report
    }
}

extension RunSession {
    /// This session, keeping the books of a dead holder's split run it finishes first (its report
    /// says "holder died", and a later `end` collects it) as `recover` does.
    package func recordingSplitRecoveries() -> RunSession {
        var session = self
        let paths = self.paths
        session.finishedSplitRun = { leftover, recovered, thawed in
            SplitRecovery(paths: paths).recorded(leftover, recovered: recovered, thawed: thawed)
        }
        return session
    }
}
