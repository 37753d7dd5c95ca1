import Foundation
import Glibc

/// The backup flow of `snaporch handler daemon`: settings → parameters → de-duplication under the
/// run lock → transitioning status → the run pipeline → terminal status file and blob → log blob.
///
/// Every path ends with a terminal status for the sequence number — malformed input, decryption
/// failure, a stale command, a duplicate, or a previous daemon that died.
public struct HandlerDaemon: Sendable {
    public let directory: String
    public let paths: Paths
    public let environment: [String: String]
    public let executable: String
    let launcher: any ProcessLauncher = PosixProcessLauncher()
    /// Commands older than this are refused (402), as the original does.
    public static let staleAfter: TimeInterval = 140 * 60
    /// Commands dated further ahead than this are refused (11): a clock this far off, or a forged
    /// date, would otherwise defeat the stale check.
    public static let futureTolerance: TimeInterval = 10 * 60

    public init(directory: String, paths: Paths, environment: [String: String], executable: String) {
        self.directory = directory
        self.paths = paths
        self.environment = environment
        self.executable = executable
    }

    /// Runs the daemon; returns the terminal status written (nil when there was no settings file).
    @discardableResult
    public func run() async -> HandlerStatus? {
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
        let writer = StatusWriter(
            statusFolder: handlerEnvironment.statusFolder, blobClient: CurlHTTPClient())
        let decryptor = ProtectedSettingsDecryptor(
            waagentDirectory: paths.resolve("/var/lib/waagent"), scratchDirectory: paths.runDir + "/handler",
            launcher: launcher)

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
                status: "error", code: error.code.rawValue, message: error.message, taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: nil, writer: writer, log: log)
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
                status: "error", code: HandlerCode.error.rawValue, message: error.message, taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
            return status
        }
        var state = HandlerState.load(paths)
        if state.daemonDied, let lost = state.sequence {
            var status = HandlerStatus(
                status: "error", code: HandlerCode.error.rawValue,
                message:
                    "the daemon running this task (pid \(state.pid ?? 0)) died before it finished; its duties were recovered",
                taskId: state.taskId ?? "")
            status.isV2 = true
            await finish(status, sequence: lost, blob: nil, writer: writer, log: log)
            // The lost attempt finished nothing: a retry of its task must run again, not be deduplicated.
            state.phase = "done"
            state.lastStatusBlob = nil
            state.lastStatus = status.status
            state.lastStatusCode = status.code
            state.save(paths)
        }
        if state.phase == "done", let previous = state.lastStatusBlob,
            state.sequence == sequence || (!parameters.taskId.isEmpty && state.taskId == parameters.taskId)
        {
            // A duplicate: no second snapshot; the sequence still gets the task's terminal status.
            log.write(
                "seq \(sequence) task \(parameters.taskId): already processed (seq \(state.sequence ?? -1)); no second snapshot"
            )
            var status = HandlerStatus(
                status: state.lastStatus ?? "success",
                code: state.lastStatusCode ?? HandlerCode.alreadyProcessed.rawValue,
                message: "TaskId AlreadyProcessed nothing to do", taskId: parameters.taskId)
            status.reportJSON = previous
            status.restoreJSON = StatusMapper.restoreJSON(reportJSON: previous)
            status.isV2 = StatusMapper.isV2(parameters.vmType)
            await finish(status, sequence: sequence, blob: nil, writer: writer, log: log)
            withExtendedLifetime(lock) {}
            return status
        }
        state.sequence = sequence
        state.taskId = parameters.taskId
        state.phase = "running"
        state.pid = getpid()
        state.pidStartTime = ProcessLiveness.startTime(getpid())
        state.save(paths)

        let status = await backup(parameters, lock: lock, writer: writer, sequence: sequence, log: log)
        state.phase = "done"
        state.lastStatusCode = status.code
        state.lastStatus = status.status
        state.lastStatusBlob = status.reportJSON ?? status.message
        state.save(paths)
        withExtendedLifetime(lock) {}
        return status
    }

    private func backup(
        _ parameters: BackupParameters, lock: RunLock, writer: StatusWriter, sequence: Int, log: HandlerLog
    ) async
        -> HandlerStatus
    {
        let command = parameters.commandToExecute.lowercased()
        if command.contains("install") {
            let status = HandlerStatus(
                status: "success", code: HandlerCode.success.rawValue, message: "Install Succeeded",
                taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
            return status
        }
        guard command.contains("snapshot") else {
            let status = HandlerStatus(
                status: "error", code: HandlerCode.parameterError.rawValue,
                message: "command is not correct: \(parameters.commandToExecute)", taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
            return status
        }
        // Checked before any freeze, never by a network call inside the window.
        if let age = parameters.commandAge(), age > Self.staleAfter {
            let status = HandlerStatus(
                status: "error", code: HandlerCode.commandTooLate.rawValue,
                message:
                    "CRP timeout limit has reached, will not take snapshot. (command is \(Int(age / 60)) minutes old)",
                taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
            return status
        }
        if let age = parameters.commandAge(), age < -Self.futureTolerance {
            let status = HandlerStatus(
                status: "error", code: HandlerCode.parameterError.rawValue,
                message:
                    "commandStartTimeUTCTicks is \(Int(-age / 60)) minutes in the future (a clock off by more than "
                    + "\(Int(Self.futureTolerance / 60)) minutes, or a forged date), will not take snapshot.",
                taskId: parameters.taskId)
            await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
            return status
        }
        var transitioning = HandlerStatus.transitioning(
            taskId: parameters.taskId, ticks: parameters.commandStartTimeUTCTicks.map(String.init))
        transitioning.isV2 = StatusMapper.isV2(parameters.vmType)
        _ = await writer.write(transitioning, sequence: sequence, blobURI: parameters.statusBlobUri)

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
            if let raw = diagnostic.code, let code = ErrorCode(rawValue: raw), diagnostic.severity != .note {
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
        await finish(status, sequence: sequence, blob: parameters.statusBlobUri, writer: writer, log: log)
        if let logs = parameters.logsBlobUri.flatMap(BlobURI.init) {
            let text = Redactor().redact(Summary(color: false).render(report))
            if let error = await BlobWriter(client: CurlHTTPClient()).write(
                Data(text.utf8), to: logs, contentType: "text/plain")
            {
                log.write("log blob: \(error)")
            }
        }
        return status
    }

    private func finish(_ status: HandlerStatus, sequence: Int, blob: String?, writer: StatusWriter, log: HandlerLog)
        async
    {
        let problems = await writer.write(status, sequence: sequence, blobURI: blob)
        log.write("seq \(sequence): \(status.status) code \(status.code): \(Redactor().redact(status.message))")
        for problem in problems { log.write(problem) }
    }
}

/// Appends lines to `<logFolder>/extension.log` (never inside a freeze window: the handler logs
/// before and after a run only).
public struct HandlerLog: Sendable {
    let file: String

    public init(folder: String) { file = folder + "/extension.log" }
    public init(paths: Paths) { file = paths.logDir + "/handler.log" }

    public func write(_ line: String) {
        let directory = (file as NSString).deletingLastPathComponent
        try? FileSystem.makeDirectory(directory)
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = "\(stamp) [snaporch \(Version.current)] \(Redactor().redact(line))\n"
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = try? Sys.writeAll(fd, Array(text.utf8))
        close(fd)
    }
}
