import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// An extension directory laid out as the Azure guest agent does, with a throwaway certificate
/// in the tree's `/var/lib/waagent` and settings encrypted with it by `openssl cms`.
struct HandlerFixture {
    let tree: TestTree
    var extDir: String { tree.path("ext") }
    var statusDir: String { tree.path("ext/status") }
    var configDir: String { tree.path("ext/config") }
    var logDir: String { tree.path("log") }
    let thumbprint: String

    init(tree: TestTree) async throws {
        self.tree = tree
        try FileManager.default.createDirectory(atPath: tree.path("var/lib/waagent"), withIntermediateDirectories: true)
        let waagent = tree.path("var/lib/waagent")
        let r = try await sh(
            """
            cd \(waagent) && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.prv -out c.crt -days 1 -subj /CN=snaporch-test 2>/dev/null && \
            t=$(openssl x509 -in c.crt -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :) && mv c.crt $t.crt && mv k.prv $t.prv && \
            chmod 600 $t.prv && echo $t
            """)
        guard r.code == 0 else { throw TestFailure("openssl failed: \(r.output)") }
        thumbprint = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
        try install()
    }

    /// Lays the extension directory out as the guest agent does on install (or a re-install).
    func install() throws {
        for dir in ["ext/config", "ext/status", "log"] {
            try FileManager.default.createDirectory(atPath: tree.path(dir), withIntermediateDirectories: true)
        }
        tree.write(
            "ext/HandlerEnvironment.json",
            """
            [{"name": "Microsoft.Azure.RecoveryServices.VMSnapshotLinux", "version": "1.0",
              "handlerEnvironment": {"logFolder": "\(tree.path("log"))", "configFolder": "\(tree.path("ext/config"))",
                                     "statusFolder": "\(tree.path("ext/status"))", "heartbeatFile": "\(tree.path("ext/heartbeat.log"))"}}]
            """)
    }

    /// Deletes the extension directory, as the guest agent does on uninstall (logs are kept).
    func uninstall() throws { try FileManager.default.removeItem(atPath: extDir) }

    /// Writes `config/<seq>.settings` with public settings in clear and protected ones encrypted.
    func writeSettings(sequence: Int, publicSettings: [String: Any], protectedSettings: [String: Any]?) async throws {
        var handler: [String: Any] = ["publicSettings": publicSettings]
        if let protectedSettings {
            let clear = tree.path("prot-\(sequence).json")
            try JSONSerialization.data(withJSONObject: protectedSettings).write(to: URL(fileURLWithPath: clear))
            let r = try await sh(
                "openssl cms -encrypt -binary -outform DER -aes256 -in \(clear) \(tree.path("var/lib/waagent/\(thumbprint).crt")) | base64 -w0 && rm -f \(clear)"
            )
            guard r.code == 0 else { throw TestFailure("openssl cms -encrypt failed: \(r.output)") }
            handler["protectedSettings"] = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
            handler["protectedSettingsCertThumbprint"] = thumbprint
        }
        let settings: [String: Any] = ["runtimeSettings": [["handlerSettings": handler]]]
        try JSONSerialization.data(withJSONObject: settings).write(
            to: URL(fileURLWithPath: "\(configDir)/\(sequence).settings"))
    }

    /// Standard public settings of a snapshot command.
    static func publicSettings(
        taskId: String, statusBlob: String?, logsBlob: String? = nil, ageMinutes: Double = 1,
        method: String = "onlyGuest", objectStr: String? = nil
    ) -> [String: Any] {
        let ticks = Int64((Date().timeIntervalSince1970 - ageMinutes * 60) * 10_000_000) + 621_355_968_000_000_000
        let object: [String: Any] = [
            "backupMetadata": [["Key": "TaskId", "Value": taskId], ["Key": "Origin", "Value": "test"]],
            "includedDisks": ["dataDiskLunList": [0], "isOSDiskIncluded": true],
        ]
        var pub: [String: Any] = [
            "commandToExecute": "snapshot", "taskId": taskId, "commandStartTimeUTCTicks": String(ticks),
            "locale": "en-us",
            "vmType": "microsoft.compute/virtualmachines",
            "objectStr": objectStr ?? (try! JSONSerialization.data(withJSONObject: object)).base64EncodedString(),
            "customSettings": "{\"takeSnapshotFrom\": \"\(method)\"}",
        ]
        if let statusBlob { pub["statusBlobUri"] = statusBlob }
        if let logsBlob { pub["logsBlobUri"] = logsBlob }
        return pub
    }

    static func protectedSettings(disks: [String]) -> [String: Any] {
        let object = try! JSONSerialization.data(withJSONObject: ["blobSASUri": disks])
        return ["objectStr": object.base64EncodedString(), "secretMarker": "PROTECTED-PLAINTEXT-42"]
    }

    /// Runs `snaporch handler enable` and waits for a terminal status of `sequence`.
    func enableAndWait(sequence: Int, env: [String: String], timeout: Double = 60) async throws -> [String: Any] {
        var env = env
        env["ConfigSequenceNumber"] = String(sequence)
        let r = try await runCLI(["handler", "enable"], env: env, cwd: extDir)
        guard r.code == 0 else { throw TestFailure("enable exited \(r.code): \(r.stderr)") }
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let body = statusBody(sequence), let code = body["code"] as? String, code != "4" { return body }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no terminal status for seq \(sequence) within \(timeout)s")
    }

    /// `status` of `<seq>.status`.
    func statusBody(_ sequence: Int) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: "\(statusDir)/\(sequence).status"),
            let array = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return nil }
        return array.first?["status"] as? [String: Any]
    }

    /// The `formattedMessage.message` object of a status body.
    static func message(_ body: [String: Any]) -> [String: Any] {
        guard let formatted = body["formattedMessage"] as? [String: Any], let text = formatted["message"] as? String,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        else { return [:] }
        return object
    }
}
