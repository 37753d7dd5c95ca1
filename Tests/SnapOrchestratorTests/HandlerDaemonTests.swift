import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The handler protocol end to end: encrypted settings → enable → daemon → run → status file and blob.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct HandlerDaemonTests {
    func writeConfig(_ tree: TestTree, mount: String) {
        let log = tree.path("order.log")
        tree.script("etc/azure/prepost/pre.sh", "echo pre >> \(log)")
        tree.script("etc/azure/prepost/post.sh", "echo post $SNAPORCH_OUTCOME $SNAPORCH_CONSISTENCY >> \(log)")
        tree.write(
            TestConfig(
                freeze: .on(timeout: "5s", mounts: [mount]), snapshot: .blob(timeout: "4s"),
                plugins: [.script("app", pre: "/etc/azure/prepost/pre.sh", post: "/etc/azure/prepost/post.sh")]),
            at: TestConfig.defaultPath)
    }

    @Test func encryptedSettingsDriveAnApplicationConsistentBackup() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let tree = fx.tree
                let m = try await fx.loop()
                writeConfig(tree, mount: m.mountPoint)
                let handler = try await HandlerFixture(tree: tree)
                var disks: [String] = []
                for i in 0..<2 {
                    let uri = try await emulator.disk("d\(i).vhd")
                    disks.append(uri)
                }
                let statusBlob = try await emulator.sas("status", "run.status")
                let logsBlob = try await emulator.sas("status", "run.log")
                try await handler.writeSettings(
                    sequence: 0,
                    publicSettings: HandlerFixture.publicSettings(
                        taskId: "task-1", statusBlob: statusBlob, logsBlob: logsBlob),
                    protectedSettings: HandlerFixture.protectedSettings(disks: disks))
                let env = RunFixture(tree, freezing: [m]).environment
                let body = try await handler.enableAndWait(sequence: 0, env: env)
                #expect(body["code"] as? String == "0", "\(body)")
                #expect(HandlerFixture.message(body)["snapshotConsistency"] as? Int == 2)
                #expect(tree.read("order.log") == "pre\npost snapshot-taken application\n")
                // The status blob carries the per-disk result.
                let (data, _) = try await URLSession.shared.data(from: URL(string: statusBlob)!)
                let blob = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
                let blobBody = try #require(blob.first?["status"] as? [String: Any])
                let info = try #require(blobBody["snapshotInfo"] as? [[String: Any]])
                #expect(info.count == 2 && info.allSatisfy { ($0["isSuccessful"] as? Bool) == true })
                #expect(String(decoding: data, as: UTF8.self).contains(#""timestampUTC": "\/Date("#))
                // Snapshots carry the backup metadata.
                let d0 = try await emulator.control("GET", "blob?path=/devstoreaccount1/vhds/d0.vhd") as? [String: Any]
                let meta = ((d0?["snapshots"] as? [[String: Any]])?.first?["metadata"] as? [String: Any]) ?? [:]
                #expect(meta.contains { $0.key.lowercased() == "taskid" && ($0.value as? String) == "task-1" })
                // Secrets are gone from disk and never reach a document.
                let settingsText = try String(contentsOfFile: "\(handler.configDir)/0.settings", encoding: .utf8)
                #expect(!settingsText.contains("\"protectedSettings\":"))
                let (logData, _) = try await URLSession.shared.data(from: URL(string: logsBlob)!)
                let documents = [
                    String(decoding: data, as: UTF8.self), String(decoding: logData, as: UTF8.self),
                    try String(contentsOfFile: "\(handler.statusDir)/0.status", encoding: .utf8),
                    (try? String(contentsOfFile: handler.logDir + "/extension.log", encoding: .utf8)) ?? "",
                    try String(contentsOfFile: tree.path("var/lib/snaporch/last-report.json"), encoding: .utf8),
                ]
                for text in documents {
                    #expect(!text.contains("sig="), "a SAS signature leaked")
                    #expect(!text.contains("PROTECTED-PLAINTEXT-42"), "decrypted protected settings leaked")
                }
                // The same task again (a new sequence number): no second snapshot, still a terminal status.
                try await handler.writeSettings(
                    sequence: 1, publicSettings: HandlerFixture.publicSettings(taskId: "task-1", statusBlob: nil),
                    protectedSettings: HandlerFixture.protectedSettings(disks: disks))
                let dup = try await handler.enableAndWait(sequence: 1, env: env)
                #expect(dup["code"] as? String == "0")
                let dupMessage = HandlerFixture.message(dup)
                #expect((dupMessage["messageStr"] as? String)?.hasPrefix("TaskId AlreadyProcessed") == true)
                #expect(dupMessage["snapshotConsistency"] as? Int == 2, "the duplicate carries the original result")
                let requests = try await emulator.control("GET", "requests") as? [[String: Any]] ?? []
                let snapshots = requests.filter { ($0["query"] as? [String: Any])?["comp"] as? String == "snapshot" }
                #expect(snapshots.count == 2, "a duplicate task took another snapshot")
            }
        }
    }

    /// Every path ends with a terminal status, for the task, in the file and in the status blob:
    /// parameters that cannot be parsed (`malformed`, `no-command`) still name the task and the
    /// blob their public settings give.
    @Test(arguments: ["malformed", "stale", "future", "no-command"])
    func badInputStillEndsWithATerminalStatus(_ case_: String) async throws {
        try await withBlobEmulator { emulator in
            let tree = TestTree("hnd")
            defer { tree.cleanup() }
            let handler = try await HandlerFixture(tree: tree)
            let statusBlob = try await emulator.sas("status", "\(case_).status")
            var pub = HandlerFixture.publicSettings(
                taskId: "task-\(case_)", statusBlob: statusBlob,
                ageMinutes: ["stale": 150.0, "future": -60.0][case_] ?? 1,
                objectStr: case_ == "malformed" ? "%%%not-base64%%%" : nil)
            if case_ == "no-command" { pub.removeValue(forKey: "commandToExecute") }
            try await handler.writeSettings(
                sequence: 3, publicSettings: pub, protectedSettings: HandlerFixture.protectedSettings(disks: []))
            let body = try await handler.enableAndWait(sequence: 3, env: tree.environment)
            let expected = ["malformed": "11", "stale": "402", "future": "11", "no-command": "11"][case_]
            #expect(body["code"] as? String == expected, "\(body)")
            #expect(body["taskId"] as? String == "task-\(case_)", "\(body)")
            if case_ == "future" {
                let message = HandlerFixture.message(body)["messageStr"] as? String ?? ""
                #expect(message.contains("minutes in the future"), "\(message)")
            }
            // The original's semantics: success/"0" in substatus[0], the error in the code and the blob document.
            let first = (body["substatus"] as? [[String: Any]])?.first
            #expect(first?["status"] as? String == "success" && first?["code"] as? String == "0")
            #expect((first?["name"] as? String)?.contains(#""status": "error""#) == true)
            let (data, _) = try await URLSession.shared.data(from: URL(string: statusBlob)!)
            let blob = (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]])?.first?["status"]
            let blobStatus = blob as? [String: Any]
            #expect(
                blobStatus?["code"] as? String == expected, "the status blob: \(String(decoding: data, as: UTF8.self))")
        }
    }

    @Test func undecryptableSettingsAreReportedNotSilentlyDropped() async throws {
        let tree = TestTree("hnd")
        defer { tree.cleanup() }
        let handler = try await HandlerFixture(tree: tree)
        try await handler.writeSettings(
            sequence: 5, publicSettings: HandlerFixture.publicSettings(taskId: "task-x", statusBlob: nil),
            protectedSettings: HandlerFixture.protectedSettings(disks: []))
        // Replace the key with another one: decryption must fail.
        _ = try await sh(
            "cd \(tree.path("var/lib/waagent")) && openssl genrsa -out \(handler.thumbprint).prv 2048 2>/dev/null")
        let body = try await handler.enableAndWait(sequence: 5, env: tree.environment)
        #expect(body["code"] as? String != "0")
        let message = HandlerFixture.message(body)["messageStr"] as? String ?? ""
        #expect(message.contains("protected settings unreadable") || message.contains("no disks"), "\(message)")
    }
}
