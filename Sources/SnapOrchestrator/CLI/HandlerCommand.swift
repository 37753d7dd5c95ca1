import Foundation
import SnapCore
import SnapSystem

/// `snaporch handler install|enable|disable|uninstall|update|daemon`: the entry points that
/// `HandlerManifest.json` names. They run with the extension directory as working directory.
struct HandlerCommand {
    let console: Console
    let paths: Paths

    func run(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Commands.handler.spec.parse(argv)
        let directory = FileManager.default.currentDirectoryPath
        let environment = ProcessInfo.processInfo.environment
        let log =
            (try? HandlerEnvironment.load(from: directory)).map { HandlerLog(folder: $0.logFolder) }
            ?? HandlerLog(paths: paths)
        switch args.operands[0] {
        case "install", "disable", "uninstall", "update":
            log.write("\(args.operands[0]): nothing to do")
            return ExitCode.ok
        case "enable":
            return await enable(directory: directory, environment: environment, log: log)
        case "daemon":
            let daemon = HandlerDaemon(
                directory: directory, paths: paths, environment: environment, executable: RunIdentity.selfExecutable)
            _ = await daemon.run()
            return ExitCode.ok
        default:
            throw UsageError(
                "unknown handler command '\(args.operands[0])' (install, enable, disable, uninstall, update, daemon)")
        }
    }

    /// Writes the transitioning status and starts the daemon in its own session; returns at once.
    private func enable(directory: String, environment: [String: String], log: HandlerLog) async -> Int32 {
        let handlerEnvironment: HandlerEnvironment
        do {
            handlerEnvironment = try HandlerEnvironment.load(from: directory)
        } catch {
            log.write("enable: \(error.message)")
            console.err("snaporch handler enable: \(error.message)\n")
            return ExitCode.failed
        }
        guard
            let sequence = SettingsFile.sequence(
                configFolder: handlerEnvironment.configFolder, environment: environment)
        else {
            log.write("enable: no settings file in \(handlerEnvironment.configFolder)")
            return ExitCode.ok
        }
        let statusFolder = handlerEnvironment.statusFolder
        let writer = StatusWriter(statusFolder: statusFolder, blobClient: CurlHTTPClient())
        let facts = AgentFacts(paths: paths, environment: environment, directory: directory)
        // Public settings only: the daemon decrypts (and strips) the protected ones.
        let settings = try? await SettingsFile.load(
            configFolder: handlerEnvironment.configFolder, sequence: sequence, decryptor: nil)
        let summary = settings.map { BackupParameters.publicSummary($0.publicSettings) }
        let record = HandlerState.load(statusFolder: statusFolder, sequence: sequence)
        let mostRecent = MostRecentSequence(directory: directory)
        if record == nil, mostRecent.number == sequence {
            // Processed by the version this one replaced (the original's `mrseq`, copied by the agent's
            // upgrade): never run again; its status file is that version's.
            log.write(
                "enable: seq \(sequence) was processed by the previous version (\(mostRecent.path)); nothing to do")
            SettingsFile.stripProtectedSettings(configFolder: handlerEnvironment.configFolder, sequence: sequence)
            return ExitCode.ok
        }
        if let record,
            await reportExisting(record, writer: writer, facts: facts, blob: summary?.statusBlobUri, log: log)
        {
            // A done sequence is never decrypted again: what the agent wrote again goes now. (A
            // running daemon strips at its end: it may not have read the file yet.)
            if record.phase == .done {
                SettingsFile.stripProtectedSettings(configFolder: handlerEnvironment.configFolder, sequence: sequence)
            }
            return ExitCode.ok
        }
        var status = HandlerStatus.transitioning(taskId: summary?.taskId ?? "", ticks: summary?.ticks)
        status.isV2 = StatusMapper.isV2(summary?.vmType)
        status = facts.annotate(status)
        for problem in await writer.write(status, sequence: sequence, blobURI: nil) { log.write("enable: \(problem)") }
        await startDaemon(
            sequence: sequence, directory: directory, environment: environment, writer: writer, taskId: status.taskId,
            log: log)
        return ExitCode.ok
    }

    /// The guest agent runs enable again on every new goal state: one daemon per sequence, a re-run
    /// only reports again: it writes the result when the status file went missing, or still says
    /// "transitioning" although the daemon recorded the result and died (killed during its status
    /// blob upload) — then to `blob` too. Returns true when the sequence is done or its daemon is
    /// alive (nothing to start).
    private func reportExisting(
        _ record: HandlerState, writer: StatusWriter, facts: AgentFacts, blob: SASURI?, log: HandlerLog
    ) async -> Bool {
        let sequence = record.sequence
        let statusFile = writer.path(sequence)
        if record.phase == .done, let terminal = record.terminal {
            log.write("enable: seq \(sequence) already processed; reporting its result again")
            let written = writer.writtenCode(sequence)
            if written == nil || (written == HandlerCode.transitioning.rawValue && !record.daemonAlive) {
                let status = facts.annotate(terminal.status(taskId: record.taskId))
                let target = written == nil ? nil : blob
                for problem in await writer.write(status, sequence: sequence, blobURI: target) {
                    log.write("enable: \(problem)")
                }
            }
            return true
        }
        if record.daemonAlive {
            log.write("enable: seq \(sequence) is being run by the daemon (pid \(record.pid ?? 0)); not started twice")
            if !FileManager.default.fileExists(atPath: statusFile) {
                let status = facts.annotate(HandlerStatus.transitioning(taskId: record.taskId, ticks: nil))
                for problem in await writer.write(status, sequence: sequence, blobURI: nil) {
                    log.write("enable: \(problem)")
                }
            }
            return true
        }
        return false
    }

    /// Starts `handler daemon` for `sequence` in its own session and waits (up to 5 s) for it to
    /// record itself as the sequence's owner; a daemon that cannot start gets an error status.
    private func startDaemon(
        sequence: Int, directory: String, environment: [String: String], writer: StatusWriter, taskId: String,
        log: HandlerLog
    ) async {
        let statusFolder = writer.statusFolder
        var env = environment
        env["ConfigSequenceNumber"] = String(sequence)
        do {
            let pid = try PosixSpawn.spawnDetached(
                executable: RunIdentity.executable(), arguments: ["handler", "daemon"], environment: env,
                workingDirectory: directory)
            try? FileSystem.makeDirectory(paths.runDir, mode: 0o700)
            try? FileSystem.writeAtomically(Array("\(pid)\n".utf8), to: paths.runDir + "/daemon.pid")
            // The daemon records itself as the sequence's owner first thing; waiting for that record
            // means a re-run of enable can never start a second daemon for this sequence.
            let clock = SystemClock()
            let deadline = clock.deadline(after: .seconds(5))
            var owned = false
            while !owned, clock.now < deadline, ProcessLiveness.isAlive(pid) {
                if let record = HandlerState.load(statusFolder: statusFolder, sequence: sequence),
                    record.pid == pid || record.phase == .done
                {
                    owned = true
                } else {
                    await clock.sleep(for: .milliseconds(20))
                }
            }
            // As the original's `save_seq`: a downgrade to it must not run this sequence again.
            if owned, let problem = MostRecentSequence(directory: directory).save(sequence) {
                log.write("enable: \(problem)")
            }
            log.write("enable: seq \(sequence): daemon started (pid \(pid))")
        } catch {
            log.write("enable: cannot start the daemon: \(error)")
            let failed = HandlerStatus(
                status: .error, code: HandlerCode.error.rawValue, message: "Failed to call the daemon: \(error)",
                taskId: taskId)
            _ = await writer.write(failed, sequence: sequence, blobURI: nil)
        }
    }
}
