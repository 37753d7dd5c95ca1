import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The handler through the binary across the guest agent's lifecycle: enable re-runs, duplicates,
/// re-installs that restart at sequence 0, an extension directory removed during a backup, and plugins
/// that print a lot. No freeze (the snapshot is a command), so nothing but the test tree is touched.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct HandlerLifecycleTests {
    /// A config whose pre step waits (≤ 20 s) for `release` to exist when `gated`, then prints `noise` bytes.
    func writeConfig(_ tree: TestTree, gated: Bool = false, noise: Int = 0) {
        let log = tree.path("order.log")
        let gate =
            gated
            ? "i=0; while [ ! -e \(tree.path("release")) ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done" : ""
        let print =
            noise > 0
            ? "yes o | head -c \(noise); yes e | head -c \(noise) >&2" : ""
        tree.script("etc/azure/prepost/pre.sh", "echo pre >> \(log)\n\(gate)\n\(print)")
        tree.script("etc/azure/prepost/pre2.sh", print)
        tree.script("etc/azure/prepost/post.sh", "echo post >> \(log)\n\(print)")
        tree.write(
            TestConfig(
                snapshot: .command(["/bin/true"]),
                plugins: [
                    .script("app", pre: "/etc/azure/prepost/pre.sh", post: "/etc/azure/prepost/post.sh"),
                    .script("app2", pre: "/etc/azure/prepost/pre2.sh", post: "/etc/azure/prepost/post.sh"),
                ]), at: TestConfig.defaultPath)
    }

    func settings(_ handler: HandlerFixture, sequence: Int, task: String, statusBlob: String? = nil) async throws {
        try await handler.writeSettings(
            sequence: sequence, publicSettings: HandlerFixture.publicSettings(taskId: task, statusBlob: statusBlob),
            protectedSettings: HandlerFixture.protectedSettings(disks: []))
    }

    func enable(_ handler: HandlerFixture, sequence: Int) async throws {
        let r = try await RunFixture(handler.tree).snaporch(
            ["handler", "enable"], env: ["ConfigSequenceNumber": String(sequence)], cwd: handler.extDir)
        guard r.code == 0 else { throw TestFailure("enable exited \(r.code): \(r.stderr)") }
    }

    func waitFor(_ what: String, timeout: Double = 30, _ condition: () -> Bool) async throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    @Test func aReRunOfEnableWhileTheBackupRunsStartsNoSecondDaemonAndKeepsTheResult() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree, gated: true)
        let handler = try await HandlerFixture(tree: tree)
        try await settings(handler, sequence: 0, task: "task-r")
        try await enable(handler, sequence: 0)
        try await waitFor("the pre step") { tree.read("order.log") == "pre\n" }
        // The agent runs enable again (a new goal state) while the backup runs.
        try await enable(handler, sequence: 0)
        try await enable(handler, sequence: 0)
        let running = try #require(handler.statusBody(0))
        #expect(running["status"] as? String == "success" && running["code"] as? String == "4", "\(running)")
        tree.write("release", "")
        let done = try await handler.enableAndWait(sequence: 0, env: tree.environment)
        let message = HandlerFixture.message(done)["messageStr"] as? String ?? ""
        // Give a second daemon (the bug) time to get the run lock and overwrite the result.
        try await Task.sleep(for: .seconds(2))
        let after = try #require(handler.statusBody(0))
        #expect(after["code"] as? String == done["code"] as? String)
        #expect(HandlerFixture.message(after)["messageStr"] as? String == message)
        #expect(!message.contains("AlreadyProcessed"), "\(message)")
        #expect(tree.read("order.log") == "pre\npost\npost\n", "one backup only")
    }

    /// The guest agent writes the settings file again, protected settings included, before every
    /// enable (a new goal state, its restart, a reboot). They are stripped again: by the daemon at
    /// its end when the agent rewrote them during the backup, and by an enable of a sequence that
    /// is done. Else the encrypted SAS URIs stay on the OS disk (with the key that opens them) and
    /// go into the next snapshots.
    @Test func protectedSettingsWrittenAgainByTheAgentAreStrippedAgain() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree, gated: true)
        let handler = try await HandlerFixture(tree: tree)
        let file = handler.configDir + "/0.settings"
        let holdsSecrets = {
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("protectedSettings\"")
        }
        try await settings(handler, sequence: 0, task: "task-s")
        try await enable(handler, sequence: 0)
        try await waitFor("the pre step") { tree.read("order.log") == "pre\n" }
        #expect(!holdsSecrets(), "the daemon did not strip the protected settings it read")
        // During the backup: the agent writes the file again and runs enable again.
        try await settings(handler, sequence: 0, task: "task-s")
        try await enable(handler, sequence: 0)
        tree.write("release", "")
        _ = try await handler.enableAndWait(sequence: 0, env: tree.environment)
        try await waitFor("the daemon's end") {
            HandlerState.load(statusFolder: handler.statusDir, sequence: 0)?.phase == .done
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!holdsSecrets(), "protected settings written during the backup stayed on disk")
        // Days later: the agent restarts and writes the file again.
        try await settings(handler, sequence: 0, task: "task-s")
        try await enable(handler, sequence: 0)
        #expect(!holdsSecrets(), "protected settings of a done sequence stayed on disk")
        #expect(tree.read("order.log") == "pre\npost\npost\n", "one backup only")
    }

    /// A daemon killed after it recorded its result and before it wrote the status (the status blob
    /// upload in between takes up to 30 s) left the sequence done and its status "transitioning":
    /// the next enable writes the result, to the file and to the status blob; else the backup
    /// service waits for its own timeout on a snapshot that was taken.
    @Test func aResultRecordedButNeverWrittenIsWrittenByTheNextEnable() async throws {
        try await withBlobEmulator { emulator in
            let tree = TestTree("hlc")
            defer { tree.cleanup() }
            writeConfig(tree)
            let handler = try await HandlerFixture(tree: tree)
            let statusBlob = try await emulator.sas("status", "lost.status")
            try await settings(handler, sequence: 0, task: "task-k", statusBlob: statusBlob)
            let started = try await RunFixture(tree).snaporch(
                ["handler", "enable"],
                env: ["ConfigSequenceNumber": "0", "SNAPORCH_FAULT_STOP_AT": "handler-terminal"],
                cwd: handler.extDir)
            #expect(started.code == 0, "\(started.stderr)")
            let daemon = try await waitForStoppedSnaporch(root: tree.root, timeout: 30)
            kill(daemon, SIGKILL)
            try await waitFor("the daemon's death") { processState(daemon) == nil || processState(daemon) == "Z" }
            #expect(HandlerState.load(statusFolder: handler.statusDir, sequence: 0)?.phase == .done)
            #expect(handler.statusBody(0)?["code"] as? String == "4", "the kill left no transitioning status")
            let body = try await handler.enableAndWait(sequence: 0, env: tree.environment, timeout: 20)
            #expect(body["code"] as? String == "1", "\(body)")
            let (data, _) = try await URLSession.shared.data(from: URL(string: statusBlob)!)
            let blob = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            #expect((blob.first?["status"] as? [String: Any])?["code"] as? String == "1", "the blob: \(blob)")
            #expect(tree.read("order.log") == "pre\npost\npost\n", "one backup only")
        }
    }

    /// Installed in place of the original extension: the guest agent's upgrade copies the old
    /// version's `status/*` and `mrseq`, then runs enable with the sequence the old version already
    /// processed. That sequence is not run again (a second snapshot of a done task, or a 402 over
    /// its result once the command is old); the next sequence runs, and `mrseq` names it, for a
    /// downgrade to the original.
    @Test func aSequenceTheOriginalExtensionProcessedIsNotRunAgain() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree)
        let handler = try await HandlerFixture(tree: tree)
        try await settings(handler, sequence: 7, task: "task-o")
        // What the original left and the agent copied: its sequence number and its terminal status.
        tree.write("ext/mrseq", "7")
        let original = #"[{"version":"1.0","status":{"status":"success","code":"0","name":"VMSnapshotLinux"}}]"#
        tree.write("ext/status/7.status", original)
        try await enable(handler, sequence: 7)
        try await Task.sleep(for: .seconds(1))
        #expect(tree.read("order.log") == nil, "the original's sequence ran again")
        #expect(tree.read("ext/status/7.status") == original)
        #expect(!(tree.read("ext/config/7.settings") ?? "").contains("protectedSettings\""))
        try await settings(handler, sequence: 8, task: "task-n")
        let next = try await handler.enableAndWait(sequence: 8, env: tree.environment)
        #expect(next["code"] as? String == "1", "\(next)")
        #expect(tree.read("order.log") == "pre\npost\npost\n")
        #expect(tree.read("ext/mrseq")?.trimmingCharacters(in: .whitespacesAndNewlines) == "8")
    }

    /// Only the newest 60 sequences keep their record and status file (the original keeps 60 old
    /// status files): years of daily backups would otherwise leave thousands, every record read at
    /// every backup.
    @Test func onlyTheNewestSixtySequencesKeepTheirRecords() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree)
        let handler = try await HandlerFixture(tree: tree)
        for sequence in 0..<70 {
            var old = HandlerState(sequence: sequence)
            old.taskId = "old-\(sequence)"
            old.phase = .done
            old.isOriginalResult = true
            old.terminal = HandlerState.Terminal(
                HandlerStatus(status: .success, code: 1, message: "old", taskId: old.taskId))
            #expect(old.save(statusFolder: handler.statusDir))
            tree.write("ext/status/\(sequence).status", "[]")
        }
        try await settings(handler, sequence: 70, task: "task-new")
        let body = try await handler.enableAndWait(sequence: 70, env: tree.environment)
        #expect(body["code"] as? String == "1", "\(body)")
        #expect(HandlerState.all(statusFolder: handler.statusDir).map(\.sequence) == Array(11...70))
        let statusFiles = try FileManager.default.contentsOfDirectory(atPath: handler.statusDir)
            .filter { $0.hasSuffix(".status") }.compactMap { Int($0.dropLast(".status".count)) }.sorted()
        #expect(statusFiles == Array(11...70))
    }

    @Test func aDuplicateTaskCarriesTheOriginalResult() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree)
        let handler = try await HandlerFixture(tree: tree)
        try await settings(handler, sequence: 1, task: "task-d")
        let first = try await handler.enableAndWait(sequence: 1, env: tree.environment)
        try await settings(handler, sequence: 2, task: "task-d")
        let dup = try await handler.enableAndWait(sequence: 2, env: tree.environment)
        let original = HandlerFixture.message(first)
        let duplicate = HandlerFixture.message(dup)
        #expect(dup["code"] as? String == first["code"] as? String)
        #expect(duplicate["snapshotConsistency"] as? Int == original["snapshotConsistency"] as? Int)
        let text = duplicate["messageStr"] as? String ?? ""
        #expect(text.contains(original["messageStr"] as? String ?? "<none>"), "\(text)")
        #expect(text.contains("AlreadyProcessed"))
        #expect(tree.read("order.log") == "pre\npost\npost\n", "a duplicate took a second backup")
    }

    @Test func reInstallsThatRestartAtSequenceZeroEachGetATerminalStatus() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree)
        let handler = try await HandlerFixture(tree: tree)
        for round in 0..<3 {
            if round > 0 {
                try handler.uninstall()
                try handler.install()
            }
            try await settings(handler, sequence: 0, task: "task-i\(round)")
            let body = try await handler.enableAndWait(sequence: 0, env: tree.environment, timeout: 20)
            #expect(body["code"] as? String == "1", "round \(round): \(body)")
        }
        // A terminal status file that went missing is written again by the next enable.
        try FileManager.default.removeItem(atPath: handler.statusDir + "/0.status")
        let again = try await handler.enableAndWait(sequence: 0, env: tree.environment, timeout: 20)
        #expect(again["code"] as? String == "1")
        #expect(tree.read("order.log")?.components(separatedBy: "pre\n").count == 4, "one backup per install")
    }

    @Test func aRemovedExtensionDirectoryIsNotRecreatedAndTheBlobStillGetsTheResult() async throws {
        try await withBlobEmulator { emulator in
            let tree = TestTree("hlc")
            defer { tree.cleanup() }
            writeConfig(tree, gated: true)
            let handler = try await HandlerFixture(tree: tree)
            let statusBlob = try await emulator.sas("status", "gone.status")
            try await settings(handler, sequence: 0, task: "task-u", statusBlob: statusBlob)
            try await enable(handler, sequence: 0)
            try await waitFor("the pre step") { tree.read("order.log") == "pre\n" }
            try handler.uninstall()
            tree.write("release", "")
            var final = ""
            let end = Date().addingTimeInterval(30)
            while Date() < end, final.isEmpty {
                let (data, response) = try await URLSession.shared.data(from: URL(string: statusBlob)!)
                let text = String(decoding: data, as: UTF8.self)
                if (response as? HTTPURLResponse)?.statusCode == 200, !text.contains(#""code": "4""#), !text.isEmpty {
                    final = text
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(final.contains(#""taskId": "task-u""#), "no final status blob: \(final)")
            try await waitFor("the daemon's end") { tree.read("order.log")?.hasSuffix("post\npost\n") == true }
            try await Task.sleep(for: .milliseconds(500))
            #expect(
                !FileManager.default.fileExists(atPath: handler.extDir), "the removed extension directory came back")
        }
    }

    @Test func anUpgradeDuringABackupGetsTheResultInTheNewVersionsStatusFolder() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree, gated: true)
        let handler = try await HandlerFixture(tree: tree)
        try await settings(handler, sequence: 3, task: "task-up")
        try await enable(handler, sequence: 3)
        try await waitFor("the pre step") { tree.read("order.log") == "pre\n" }
        // The guest agent's upgrade: copy status/* to the new version, delete the old directory.
        let newStatus = tree.path("Microsoft.Azure.RecoveryServices.VMSnapshotLinux-9.9.9/status")
        try FileManager.default.createDirectory(atPath: newStatus, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: handler.statusDir) {
            try FileManager.default.copyItem(atPath: handler.statusDir + "/" + name, toPath: newStatus + "/" + name)
        }
        try handler.uninstall()
        tree.write("release", "")
        var body: [String: Any]?
        try await waitFor("the result in the new version's folder") {
            guard let data = FileManager.default.contents(atPath: newStatus + "/3.status"),
                let doc = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
                let status = doc.first?["status"] as? [String: Any], status["code"] as? String != "4"
            else { return false }
            body = status
            return true
        }
        #expect(body?["code"] as? String == "1", "\(body ?? [:])")
        try await waitFor("the daemon's end") { tree.read("order.log")?.hasSuffix("post\npost\n") == true }
        #expect(!FileManager.default.fileExists(atPath: handler.extDir), "the old extension directory came back")
    }

    @Test func pluginsPrintingTwiceSixtyKiBKeepTheStatusFileUnder128KiB() async throws {
        let tree = TestTree("hlc")
        defer { tree.cleanup() }
        writeConfig(tree, noise: 60 * 1024)
        let handler = try await HandlerFixture(tree: tree)
        try await settings(handler, sequence: 4, task: "task-n")
        let body = try await handler.enableAndWait(sequence: 4, env: tree.environment)
        #expect(body["code"] as? String == "1", "\(body)")
        let text = try String(contentsOfFile: handler.statusDir + "/4.status", encoding: .utf8)
        #expect(text.utf8.count <= 128 * 1024, "status file of \(text.utf8.count) bytes")
        try StatusBudgetTests.checkAgentShape(text)
        #expect(text.contains("statusTrimmed"))
        let report = try String(contentsOfFile: tree.path("var/lib/snaporch/last-report.json"), encoding: .utf8)
        #expect(report.utf8.count > 200 * 1024, "the local report keeps the full output")
    }
}
