import Foundation
import SnapSystem
import Synchronization

/// The detached holder of a split-phase run (`snaporch __holder`, started by `snaporch begin`):
/// a normal run under the run lock whose snapshot step waits for `snaporch end` (or the lease),
/// keeping alive in between what must live — database sessions holding their locks, the freeze
/// guard.
///
/// It runs in its own session with stdin on /dev/null, stdout and stderr appended to
/// `/run/snaporch/split/holder.log`, and one inherited descriptor, fd 3: the readiness pipe to
/// `begin`, which gets one line (refused / quiesced / finished) and is then closed.
///
/// Safety contract: between the quiesce and `end` it writes only to `/run` (the platform may have
/// frozen every other filesystem); when the lease expires while a platform that freezes may
/// still have them frozen, the report is kept under `/run` (pending) instead of blocking on
/// `/var/lib`, and the next `end`, `begin` or `recover` stores it.
package struct SplitHolder: Sendable {
    let paths: Paths
    let request: HolderRequest
    let readiness: ReadinessPipe
    let files: SplitFiles

    /// The entry point of `snaporch __holder ARGS` (fd 3: the readiness pipe).
    package static func main(_ argv: [String], paths: Paths = Paths()) async -> Int32 {
        let readiness = ReadinessPipe(fd: FileDescriptor(adopting: 3, label: "readiness pipe"))
        Signal.ignore([.brokenPipe])
        guard let request = HolderRequest(arguments: argv) else {
            readiness.send(.refused("__holder: bad arguments: \(argv)", exitCode: RunExit.usage))
            return RunExit.usage
        }
        let holder = SplitHolder(paths: paths, request: request, readiness: readiness, files: SplitFiles(paths: paths))
        let code = await holder.run()
        readiness.close()
        return code
    }

    /// Takes the lock, loads the config, listens, runs, answers.
    func run() async -> Int32 {
        log("holder \(ThisProcess.id) of split run \(request.runId) starting (caller \(request.caller))")
        let lock: RunLock
        do {
            lock = try RunLock.acquire(directory: paths.runDir)
        } catch {
            var message = error.message
            if let state = files.load(SplitState.self, from: files.state), state.holderAlive {
                message = "another split run is in progress: \(state.summary); refusing a second begin"
            }
            return refuse(message, RunExit.failed)
        }
        defer { withExtendedLifetime(lock) {} }
        let (loaded, diagnostics) = ConfigSource(paths: paths).load(explicit: request.config)
        guard let config = loaded else {
            let text = diagnostics.filter { $0.severity == .error }.map(\.rendered).joined(separator: "\n")
            return refuse("the config cannot be used:\n\(text)", RunExit.usage, releasing: lock)
        }
        await SplitRecovery(paths: paths).finishStale(killGrace: config.killGrace)
        SplitPending(paths: paths).storeAll()
        let interrupts = Interrupts()
        let channel: SplitChannel
        do {
            try files.create()
            channel = try SplitChannel(path: files.socket) { interrupts.receivedSignal }
        } catch {
            return refuse("cannot open the control socket \(files.socket): \(error)", RunExit.failed, releasing: lock)
        }
        return await execute(config, channel: channel, lock: lock)
    }

    /// The run itself, then the answers to `begin` (when it never quiesced) and to `end`.
    private func execute(_ config: Config, channel: SplitChannel, lock: RunLock) async -> Int32 {
        let session = RunSession(
            paths: paths, executable: RunIdentity.selfExecutable, environment: ProcessInfo.processInfo.environment)
        let plan = session.plan(config, options: request.options)
        let lifetimeMs = SplitBudget(plan).holderLifetime(lease: request.lease).milliseconds
        let recorder = SplitRecorder(
            state: SplitState(
                runId: request.runId, pid: ThisProcess.id, pidStart: ProcessLiveness.startTime(ThisProcess.id),
                caller: request.caller, begunAt: SplitText.iso(Date()), leaseMs: request.lease.milliseconds,
                finishByEpochMs: Sys.epochMillis() + Int64(lifetimeMs),
                finishByMonotonicMs: Sys.monotonicNanos() / 1_000_000 + UInt64(lifetimeMs)))
        try? files.save(recorder.state, to: files.state)
        var hooked = session
        hooked.split = SplitHooks(
            ends: channel, closed: { recorder.close($0) },
            quiesced: { [files, readiness] report in
                // Inside the window: only the pipe and /run are written.
                channel.markQuiesced()
                recorder.quiesce(report)
                readiness.send(.quiesced(report))
                readiness.close()
                FaultPoint.hit("split-quiesced")
                try? files.save(recorder.state, to: files.state)
                Self.log("quiesced; waiting for `snaporch end` until \(report.windowEndsAt)")
            })
        let deferStore = request.platformFreezes
        let result: RunSession.Result
        do {
            result = try await hooked.execute(
                plan, runId: request.runId, heldLock: lock, extraReportPath: request.report,
                beforeStore: { report in report.split = recorder.splitReport(plan) },
                storeWhen: { report in !(deferStore && report.split?.ending == .leaseExpired) })
        } catch {
            _ = FileSystem.remove(files.state)
            return refuse(error.message, RunExit.failed, releasing: lock)
        }
        return conclude(result, plan: plan, recorder: recorder, channel: channel, lock: lock)
    }

    /// After the run: `last.json`, the run lock let go, then the answer to `begin` (a run that
    /// never quiesced) or to `end`. The answer comes last so that whoever waits for it may start
    /// the next run at once (qemu-ga's next freeze right after a thaw).
    private func conclude(
        _ result: RunSession.Result, plan: Plan, recorder: SplitRecorder, channel: SplitChannel, lock: RunLock
    ) -> Int32 {
        let report = result.report
        if let note = result.recoveryNote { log(note) }
        for problem in result.storeProblems { log("error: \(problem)") }
        let code = RunExit.code(report, snapshots: true, storeProblems: result.storeProblems)
        let finished = SplitMessage.finished(report, exitCode: code)
        var reportPath: String? = ReportStore(paths: paths).lastReportPath
        if !result.stored {
            reportPath = SplitPending(paths: paths).keep(report)
            log("the platform may still have /var/lib frozen: the report waits in \(reportPath ?? "?")")
        }
        let ending = report.split?.ending ?? .notQuiesced
        _ = channel.finish(finished) { delivered in
            FaultPoint.hit("split-release")
            let last = SplitLast(
                runId: request.runId, endedAt: SplitText.iso(Date()), ending: ending, exitCode: code,
                collected: delivered || !recorder.quiesced, reportPath: reportPath, stored: result.stored,
                report: report)
            try? files.save(last, to: files.last)
            _ = FileSystem.remove(files.state)
            lock.release()
            if !recorder.quiesced {
                readiness.send(finished)
                readiness.close()
            }
        }
        log("split run \(request.runId) ended (\(ending.rawValue)), exit \(code)")
        return code
    }

    /// Tells `begin` why there is no run, and returns `code`; lets go of `lock` first, so that a
    /// `begin` retried at once is not refused by this holder.
    private func refuse(_ message: String, _ code: Int32, releasing lock: RunLock? = nil) -> Int32 {
        log("refused: \(message)")
        if let lock {
            FaultPoint.hit("split-release")
            lock.release()
        }
        readiness.send(.refused(message, exitCode: code))
        return code
    }

    /// One line to the holder's log (stdout: `/run/snaporch/split/holder.log`).
    private func log(_ text: String) { Self.log(text) }

    /// One line to the holder's log.
    static func log(_ text: String) {
        FileHandle.standardOutput.write(Data("\(SplitText.iso(Date())) \(text)\n".utf8))
    }
}

extension SplitMessage {
    /// The begin part of the run.
    package static func quiesced(_ report: QuiescedReport) -> SplitMessage {
        var m = SplitMessage(.quiesced)
        m.quiesced = report
        return m
    }
}
