import Foundation
import SnapCore
import SnapSystem

/// Reporting of the daemon: terminal statuses (with the VM facts and extension events), the
/// status folder to write to, and the recovery of daemons that died.
extension HandlerDaemon {
    /// Gives every sequence whose daemon died without finishing a terminal error status.
    func recoverDeadDaemons(except sequence: Int, environment: HandlerEnvironment, log: HandlerLog) async {
        for var lost in HandlerState.all(statusFolder: environment.statusFolder)
        where lost.sequence != sequence && lost.daemonDied {
            var status = HandlerStatus(
                status: .error, code: HandlerCode.error.rawValue,
                message:
                    "the daemon running this task (pid \(lost.pid ?? 0)) died before it finished; its duties were recovered",
                taskId: lost.taskId)
            status.isV2 = true
            await finish(status, record: &lost, blob: nil, environment: environment, log: log, original: false)
        }
    }

    /// Records `record`'s sequence as done with its terminal status, then writes that status (blob,
    /// then file). The record comes first: a daemon that dies in between leaves a result that the
    /// next enable re-reports, never a "running" record that would later be declared dead.
    ///
    /// When the extension directory was removed during the run, nothing is created: the file goes to
    /// the status folder that now holds this daemon's record (an upgrade copied it to the new
    /// version's folder), or is skipped (uninstall); the blob is uploaded either way.
    func finish(
        _ status: HandlerStatus, record: inout HandlerState, blob: SASURI?, environment: HandlerEnvironment,
        log: HandlerLog, original: Bool = true
    ) async {
        let folder = liveStatusFolder(environment, sequence: record.sequence)
        let writer = StatusWriter(statusFolder: folder, blobClient: CurlHTTPClient())
        let status = withFacts(status)
        record.phase = .done
        if record.terminal == nil || original {
            record.terminal = HandlerState.Terminal(status)
            record.isOriginalResult = original
        }
        record.save(statusFolder: folder)
        FaultPoint.hit("handler-terminal")
        // The agent may have written the settings again during the run: no secret stays behind.
        SettingsFile.stripProtectedSettings(configFolder: environment.configFolder, sequence: record.sequence)
        let problems = await writer.write(status, sequence: record.sequence, blobURI: blob)
        log.write(
            "seq \(record.sequence): \(status.status.rawValue) code \(status.code): \(Redactor().redact(status.message))"
        )
        for problem in problems { log.write(problem) }
        let events = ExtensionEvents(
            folder: environment.eventsFolder, version: facts.extensionVersion(), operationId: status.taskId)
        // Warning and above only, as the original forwards: errors, degraded results, reporting problems.
        if status.status == .error || ![0, 1, 3, 4].contains(status.code) {
            events.write(.error, ["seq \(record.sequence): code \(status.code): \(status.message)"] + problems)
        } else if status.code == HandlerCode.success.rawValue || !problems.isEmpty {
            events.write(.warning, ["seq \(record.sequence): code \(status.code): \(status.message)"] + problems)
        }
    }

    /// The VM facts the original reports, for this extension directory.
    var facts: AgentFacts { AgentFacts(paths: paths, environment: environment, directory: directory) }

    /// `status` with what the original adds to every report: the machine id and the VM facts.
    func withFacts(_ status: HandlerStatus) -> HandlerStatus { facts.annotate(status) }

    /// The status folder to write to: the extension's own, or — when it is gone — that of the
    /// extension version the guest agent upgraded to, recognised by holding this daemon's record.
    func liveStatusFolder(_ environment: HandlerEnvironment, sequence: Int) -> String {
        let own = environment.statusFolder
        if FileManager.default.fileExists(atPath: own) { return own }
        let base = (directory as NSString).deletingLastPathComponent
        let prefix = environment.name + "-"
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in siblings.sorted() where name.hasPrefix(prefix) {
            let folder = base + "/" + name + "/status"
            if let other = HandlerState.load(statusFolder: folder, sequence: sequence), other.phase == .running,
                other.pid == ThisProcess.id
            {
                return folder
            }
        }
        return own
    }
}
