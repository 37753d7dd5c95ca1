import Foundation
import SnapCore
import SnapSystem

extension HandlerDaemon {
    /// The backup of one sequence, under the run lock: the command's checks, the transitioning
    /// status, the run (through the shared `RunSession`), the terminal status, the log blob.
    func backup(
        _ parameters: BackupParameters, lock: RunLock, record: inout HandlerState,
        environment handlerEnvironment: HandlerEnvironment, log: HandlerLog
    ) async -> HandlerStatus {
        if let status = Self.statusWithoutBackup(parameters) {
            await finish(
                status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
            return status
        }
        var transitioning = HandlerStatus.transitioning(
            taskId: parameters.taskId, ticks: parameters.commandStartTimeUTCTicks.map(String.init))
        transitioning.isV2 = StatusMapper.isV2(parameters.vmType)
        transitioning = withFacts(transitioning)
        _ = await StatusWriter(
            statusFolder: handlerEnvironment.statusFolder, blobClient: CurlHTTPClient()
        )
        .write(transitioning, sequence: record.sequence, blobURI: parameters.statusBlobUri)

        let report = await runBackup(parameters, lock: lock)
        let status = StatusMapper.status(for: report, parameters: parameters)
        await finish(
            status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
        await uploadLog(report, to: parameters.logsBlobUri, log: log)
        return status
    }

    /// The terminal status of a command that takes no snapshot: `install`, an unknown command, a
    /// command too old or dated in the future (checked before any freeze, never by a network call
    /// inside the window). Nil for a snapshot command to run.
    static func statusWithoutBackup(_ parameters: BackupParameters) -> HandlerStatus? {
        let command = parameters.commandToExecute.lowercased()
        if command.contains("install") {
            return HandlerStatus(
                status: .success, code: HandlerCode.success.rawValue, message: "Install Succeeded",
                taskId: parameters.taskId)
        }
        guard command.contains("snapshot") else {
            return HandlerStatus(
                status: .error, code: HandlerCode.parameterError.rawValue,
                message: "command is not correct: \(parameters.commandToExecute)", taskId: parameters.taskId)
        }
        if let age = parameters.commandAge(), age > Self.staleAfter {
            return HandlerStatus(
                status: .error, code: HandlerCode.commandTooLate.rawValue,
                message:
                    "CRP timeout limit has reached, will not take snapshot. (command is \(Int(age / 60)) minutes old)",
                taskId: parameters.taskId)
        }
        if let age = parameters.commandAge(), age < -Self.futureTolerance {
            return HandlerStatus(
                status: .error, code: HandlerCode.parameterError.rawValue,
                message:
                    "commandStartTimeUTCTicks is \(Int(-age / 60)) minutes in the future (a clock off by more than "
                    + "\(Int(Self.futureTolerance / 60)) minutes, or a forged date), will not take snapshot.",
                taskId: parameters.taskId)
        }
        return nil
    }

    /// The run itself, built by the same composition root as `snaporch run`: the config (an
    /// invalid one runs no plugin, and says so), the handler's provider and method, the plan.
    private func runBackup(_ parameters: BackupParameters, lock: RunLock) async -> RunReport {
        let (loaded, diagnostics) = ConfigSource(paths: paths).load(explicit: nil, defaultWhenAbsent: true)
        var configProblems = diagnostics.filter { $0.severity != .note }.map(\.rendered)
        var config = loaded ?? Config()
        if loaded == nil {
            configProblems.insert("the configuration is invalid: no plugins were run", at: 0)
        }
        if config.snapshot.provider == .none || config.snapshot.provider == .command {
            config.snapshot.provider = config.snapshot.provider == .command ? .command : .blob
        }
        var options = RunOptions()
        options.taskId = parameters.taskId.isEmpty ? nil : parameters.taskId
        let session = RunSession(
            paths: paths, launcher: launcher, executable: executable, environment: environment,
            request: parameters.handlerRequest
        ).recordingSplitRecoveries()
        let plan = session.plan(config, options: options)
        var report: RunReport
        do {
            report = try await session.execute(plan, runId: RunIdentity.newRunId(), heldLock: lock).report
        } catch {
            report = RunReport(runId: "none", taskId: parameters.taskId)
        }
        // Legacy config problems the original would only log (or hide) reach the status here.
        for diagnostic in diagnostics {
            if let code = diagnostic.code, diagnostic.severity != .note {
                report.errors.append(ErrorEntry(code, diagnostic.rendered))
            }
        }
        for problem in configProblems + parameters.warnings {
            report.reasons.append(problem)
            if report.consistency == .application {
                report.consistency = .filesystem
                report.outcome = .degraded
            }
        }
        return report
    }

    /// The summary, then the full report, to the logs blob: what a trimmed status points to.
    private func uploadLog(_ report: RunReport, to target: SASURI?, log: HandlerLog) async {
        guard let logs = target.flatMap(BlobURI.init) else { return }
        let text = Redactor().redact(
            Summary(color: false).render(report) + "\n--- run report (JSON) ---\n"
                + JSONOutput.encode(report, pretty: true) + "\n")
        if let error = await BlobWriter(client: CurlHTTPClient()).write(
            Data(text.utf8), to: logs, contentType: "text/plain")
        {
            log.write("log blob: \(error)")
        }
    }
}
