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
        var record =
            HandlerState.load(statusFolder: statusFolder, sequence: sequence) ?? HandlerState(sequence: sequence)
        if record.phase != .done {
            // First thing: this daemon owns the sequence (enable waits for this record).
            record.own(by: ThisProcess.id)
            record.save(statusFolder: statusFolder)
        }

        // Settings and parameters: every failure becomes a terminal status.
        let (loaded, failure) = await loadParameters(handlerEnvironment, sequence: sequence, log: log)
        guard let parameters = loaded else {
            let (status, blob) = failure!
            record.taskId = status.taskId
            await finish(status, record: &record, blob: blob, environment: handlerEnvironment, log: log)
            return status
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
        let pruned = HandlerState.prune(statusFolder: statusFolder, current: sequence)
        if !pruned.isEmpty { log.write("removed the records and status files of \(pruned.count) old sequence(s)") }
        if let status = await reportAgain(parameters, record: &record, environment: handlerEnvironment, log: log) {
            return status
        }
        record.taskId = parameters.taskId
        record.own(by: ThisProcess.id)
        record.terminal = nil
        record.save(statusFolder: statusFolder)

        let status = await backup(parameters, lock: lock, record: &record, environment: handlerEnvironment, log: log)
        return status
    }

    /// The settings of `sequence` (protected settings decrypted) parsed into backup parameters; or
    /// the terminal status that a failure becomes, for the task and the status blob that the public
    /// settings name when they can be read.
    private func loadParameters(
        _ handlerEnvironment: HandlerEnvironment, sequence: Int, log: HandlerLog
    ) async -> (BackupParameters?, (status: HandlerStatus, blob: SASURI?)?) {
        let decryptor = ProtectedSettingsDecryptor(
            waagentDirectory: paths.resolve("/var/lib/waagent"), scratchDirectory: paths.runDir + "/handler",
            launcher: launcher)
        var settings: SettingsFile?
        do {
            let loaded = try await SettingsFile.load(
                configFolder: handlerEnvironment.configFolder, sequence: sequence, decryptor: decryptor)
            settings = loaded
            var parameters = try BackupParameters.parse(
                publicJSON: loaded.publicSettings, protectedJSON: loaded.protectedSettings)
            if let problem = loaded.protectedError {
                log.write("protected settings: \(problem)")
                parameters.warnings.append("protected settings unreadable: \(problem)")
            }
            return (parameters, nil)
        } catch {
            let summary = settings.map { BackupParameters.publicSummary($0.publicSettings) }
            var status = HandlerStatus(
                status: .error, code: error.code.rawValue, message: error.message, taskId: summary?.taskId ?? "")
            status.commandStartTimeUTCTicks = summary?.ticks
            return (nil, (status, summary?.statusBlobUri))
        }
    }

    /// Under the lock: a sequence that already has its result reports it again, unchanged; a task
    /// already processed under another sequence gets the original result (no second snapshot).
    /// Returns the status written then, or nil when this sequence is to run.
    private func reportAgain(
        _ parameters: BackupParameters, record: inout HandlerState, environment handlerEnvironment: HandlerEnvironment,
        log: HandlerLog
    ) async -> HandlerStatus? {
        let sequence = record.sequence
        let statusFolder = handlerEnvironment.statusFolder
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
        return nil
    }
}
