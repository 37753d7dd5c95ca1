import Foundation
import SnapCore
import SnapSystem

/// The backup flow of `snaporch handler daemon`: settings → parameters → de-duplication under the
/// run lock → transitioning status → the run pipeline → terminal status file and blob → log blob.
///
/// Every path ends with a terminal status for the sequence number — malformed input, decryption
/// failure, a stale command, a duplicate, or a previous daemon that died.
package struct HandlerDaemon: Sendable {
    package let directory: String
    package let paths: Paths
    package let environment: [String: String]
    package let executable: String
    let launcher: any ProcessLauncher = PosixProcessLauncher()
    /// Commands older than this are refused (402), as the original does.
    package static let staleAfter: TimeInterval = 140 * 60
    /// Commands dated further ahead than this are refused (11): a clock this far off, or a forged
    /// date, would otherwise defeat the stale check.
    package static let futureTolerance: TimeInterval = 10 * 60

    package init(directory: String, paths: Paths, environment: [String: String], executable: String) {
        self.directory = directory
        self.paths = paths
        self.environment = environment
        self.executable = executable
    }

    /// Runs the daemon; returns the terminal status written (nil when there was no settings file).
    @discardableResult
    package func run() async -> HandlerStatus? {
        let handlerEnvironment: HandlerEnvironment
        do {
            handlerEnvironment = try HandlerEnvironment.load(from: directory)
        } catch {
            HandlerLog(paths: paths).write("daemon: \(error.message)")
            return nil
        }
        let log = HandlerLog(folder: handlerEnvironment.logFolder)
        guard
            let sequence = SettingsFile.sequence(
                configFolder: handlerEnvironment.configFolder, environment: environment)
        else {
            log.write("daemon: no settings file in \(handlerEnvironment.configFolder)")
            return nil
        }
        let statusFolder = handlerEnvironment.statusFolder
        let decryptor = ProtectedSettingsDecryptor(
            waagentDirectory: paths.resolve("/var/lib/waagent"), scratchDirectory: paths.runDir + "/handler",
            launcher: launcher)
        var record =
            HandlerState.load(statusFolder: statusFolder, sequence: sequence) ?? HandlerState(sequence: sequence)
        if record.phase != .done {
            // First thing: this daemon owns the sequence (enable waits for this record).
            record.own(by: ThisProcess.id)
            record.save(statusFolder: statusFolder)
        }

        // Settings and parameters: every failure becomes a terminal status.
        var parameters = BackupParameters()
        let settings: SettingsFile
        do {
            settings = try await SettingsFile.load(
                configFolder: handlerEnvironment.configFolder, sequence: sequence, decryptor: decryptor)
            parameters = try BackupParameters.parse(
                publicJSON: settings.publicSettings, protectedJSON: settings.protectedSettings)
        } catch {
            let status = HandlerStatus(
                status: .error, code: error.code.rawValue, message: error.message, taskId: parameters.taskId)
            await finish(status, record: &record, blob: nil, environment: handlerEnvironment, log: log)
            return status
        }
        if let problem = settings.protectedError {
            log.write("protected settings: \(problem)")
            parameters.warnings.append("protected settings unreadable: \(problem)")
        }

        // One run per machine; duplicates are decided under the lock, without any random sleep.
        let lock: RunLock
        do {
            lock = try await RunLock.acquire(directory: paths.runDir, waitUpTo: .seconds(Int(Self.staleAfter)))
        } catch {
            let status = HandlerStatus(
                status: .error, code: HandlerCode.error.rawValue, message: error.message, taskId: parameters.taskId)
            await finish(
                status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
            return status
        }
        defer { withExtendedLifetime(lock) {} }
        await recoverDeadDaemons(except: sequence, environment: handlerEnvironment, log: log)
        if let current = HandlerState.load(statusFolder: statusFolder, sequence: sequence), current.phase == .done,
            let terminal = current.terminal
        {
            // This sequence already has its result (a re-run of enable): report it again, unchanged.
            log.write("seq \(sequence): already processed; its result is reported again")
            record = current
            let status = terminal.status(taskId: current.taskId)
            record.terminal = nil
            await finish(
                status, record: &record, blob: nil, environment: handlerEnvironment, log: log,
                original: current.isOriginalResult ?? false)
            return status
        }
        if !parameters.taskId.isEmpty,
            let original = HandlerState.all(statusFolder: statusFolder).last(where: {
                $0.sequence != sequence && $0.phase == .done && $0.taskId == parameters.taskId
                    && $0.isOriginalResult == true
            }), let terminal = original.terminal
        {
            // A duplicate task: no second snapshot; the sequence gets the original result.
            log.write(
                "seq \(sequence) task \(parameters.taskId): already processed as seq \(original.sequence); no second snapshot"
            )
            var status = terminal.status(taskId: parameters.taskId)
            status.message = "TaskId AlreadyProcessed (seq \(original.sequence)): \(terminal.message)"
            status.telemetry.append(("duplicateOfSequence", String(original.sequence)))
            record.taskId = parameters.taskId
            await finish(status, record: &record, blob: nil, environment: handlerEnvironment, log: log, original: false)
            return status
        }
        record.taskId = parameters.taskId
        record.own(by: ThisProcess.id)
        record.terminal = nil
        record.save(statusFolder: statusFolder)

        let status = await backup(parameters, lock: lock, record: &record, environment: handlerEnvironment, log: log)
        return status
    }

    private func backup(
        _ parameters: BackupParameters, lock: RunLock, record: inout HandlerState,
        environment handlerEnvironment: HandlerEnvironment,
        log: HandlerLog
    ) async
        -> HandlerStatus
    {
        let sequence = record.sequence
        let command = parameters.commandToExecute.lowercased()
        if command.contains("install") {
            let status = HandlerStatus(
                status: .success, code: HandlerCode.success.rawValue, message: "Install Succeeded",
                taskId: parameters.taskId)
            await finish(
                status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
            return status
        }
        guard command.contains("snapshot") else {
            let status = HandlerStatus(
                status: .error, code: HandlerCode.parameterError.rawValue,
                message: "command is not correct: \(parameters.commandToExecute)", taskId: parameters.taskId)
            await finish(
                status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
            return status
        }
        // Checked before any freeze, never by a network call inside the window.
        if let age = parameters.commandAge(), age > Self.staleAfter {
            let status = HandlerStatus(
                status: .error, code: HandlerCode.commandTooLate.rawValue,
                message:
                    "CRP timeout limit has reached, will not take snapshot. (command is \(Int(age / 60)) minutes old)",
                taskId: parameters.taskId)
            await finish(
                status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
            return status
        }
        if let age = parameters.commandAge(), age < -Self.futureTolerance {
            let status = HandlerStatus(
                status: .error, code: HandlerCode.parameterError.rawValue,
                message:
                    "commandStartTimeUTCTicks is \(Int(-age / 60)) minutes in the future (a clock off by more than "
                    + "\(Int(Self.futureTolerance / 60)) minutes, or a forged date), will not take snapshot.",
                taskId: parameters.taskId)
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
        .write(transitioning, sequence: sequence, blobURI: parameters.statusBlobUri)

        let (loaded, diagnostics) = ConfigSource(paths: paths).load(explicit: nil, defaultWhenAbsent: true)
        var configProblems = diagnostics.filter { $0.severity != .note }.map(\.rendered)
        var config = loaded ?? Config()
        if loaded == nil {
            configProblems.insert("the configuration is invalid: no plugins were run", at: 0)
        }
        if config.snapshot.provider == .none || config.snapshot.provider == .command {
            config.snapshot.provider = config.snapshot.provider == .command ? .command : .blob
        }
        if config.snapshot.provider == .blob || config.snapshot.provider == .host {
            config.snapshot.method = config.snapshot.method ?? parameters.snapshotMethod
        }
        var options = RunOptions()
        options.taskId = parameters.taskId.isEmpty ? nil : parameters.taskId
        options.disks = parameters.blobSASUris
        let plan = Planner(environment: environment).plan(config, options: options)
        let host = parameters.hostRequest
        let metadata = parameters.backupMetadata
        let environment = self.environment
        let session = RunSession(paths: paths, launcher: launcher, executable: executable)
        var report: RunReport
        do {
            report = try await session.execute(
                plan, runId: RunIdentity.newRunId(), heldLock: lock,
                provider: { plan in
                    SnapshotProviders.make(
                        for: plan, launcher: PosixProcessLauncher(), environment: environment, host: host,
                        metadata: metadata)
                }
            ).report
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
        let status = StatusMapper.status(for: report, parameters: parameters)
        await finish(
            status, record: &record, blob: parameters.statusBlobUri, environment: handlerEnvironment, log: log)
        if let logs = parameters.logsBlobUri.flatMap(BlobURI.init) {
            // The summary, then the full report: what a trimmed status points to.
            let text = Redactor().redact(
                Summary(color: false).render(report) + "\n--- run report (JSON) ---\n"
                    + JSONOutput.encode(report, pretty: true) + "\n")
            if let error = await BlobWriter(client: CurlHTTPClient()).write(
                Data(text.utf8), to: logs, contentType: "text/plain")
            {
                log.write("log blob: \(error)")
            }
        }
        return status
    }
}
