import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Golden status file and status blob documents (reference §5.1–§5.2) for the main outcomes.
@Suite struct HandlerStatusTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/status"
    ).path

    static let storage = (partitions: 3, usedBytes: Int64(5_368_709_120))

    static func parameters() -> BackupParameters {
        var p = BackupParameters()
        p.taskId = "dc9c0031-be21-467b-b68e-34608bbf07b0"
        p.commandToExecute = "snapshot"
        p.commandStartTimeUTCTicks = 638_526_000_000_000_000
        p.vmType = "microsoft.compute/virtualmachines"
        return p
    }

    static func report(_ scenario: String) -> RunReport {
        var r = RunReport(runId: "20261126T000000Z-000001", taskId: parameters().taskId)
        r.startedAt = "2026-11-26T00:00:00Z"
        r.plugins = [PluginReport(name: "app", type: "script", dropIn: false)]
        var ok = StepReport(status: .succeeded)
        ok.attempts = 1
        ok.exitCode = 0
        r.plugins[0].pre = ok
        r.plugins[0].post = ok
        r.freeze.enabled = true
        var mount = MountReport(mountPoint: "/data", fsType: "ext4")
        mount.frozen = true
        mount.thawed = true
        r.freeze.mounts = [mount]
        r.freeze.windowMs = 205
        r.freeze.windowUs = 204_512
        r.snapshot.provider = .blob
        var disk = DiskReport(blob: "https://acct.blob.core.windows.net/vhds/d0.vhd", ok: true)
        disk.snapshot = "https://acct.blob.core.windows.net/vhds/d0.vhd?snapshot=2026-11-26T00:00:00.1234567Z"
        disk.durationMs = 201
        r.snapshot.disks = [disk]
        r.snapshot.taken = true
        r.timeline = [
            TimelineEntry(step: .pre(plugin: "app"), startMs: 0, endMs: 5),
            TimelineEntry(step: .snapshot, startMs: 7, endMs: 208),
        ]
        r.outcome = .success
        r.consistency = .application
        switch scenario {
        case "filesystem":
            var failed = StepReport(status: .failed)
            failed.exitCode = 1
            failed.attempts = 1
            failed.error = "/etc/azure/prepost/app-pre.sh exited with code 1"
            r.plugins[0].pre = failed
            r.errors = [
                ErrorEntry(
                    .prepostPreScriptFailed, "plugin 'app' pre: /etc/azure/prepost/app-pre.sh exited with code 1")
            ]
            r.reasons = ["pre of 'app' failed (on_failure: continue)"]
            r.consistency = .filesystem
            r.outcome = .degraded
        case "aborted":
            var failed = StepReport(status: .failed)
            failed.exitCode = 2
            r.plugins[0].pre = failed
            r.freeze = FreezeReport()
            r.snapshot = SnapshotReport()
            r.snapshot.provider = .blob
            r.timeline = [TimelineEntry(step: .pre(plugin: "app"), startMs: 0, endMs: 5)]
            r.errors = [
                ErrorEntry(
                    .prepostPreScriptFailed, "plugin 'app' pre: /etc/azure/prepost/app-pre.sh exited with code 2")
            ]
            r.reasons = ["pre of 'app' failed (on_failure: abort): no freeze, no snapshot"]
            r.consistency = .none
            r.outcome = .failed
        default: break
        }
        return r
    }

    static func normalized(_ text: String) -> String {
        text.replacing(
            #/\{"Value": "[^"]*", "Key": "kernelVersion"\}/#, with: #"{"Value": "KERNEL", "Key": "kernelVersion"}"#
        )
        .replacing(
            #/\{\\"Value\\": \\"[^"\\]*\\", \\"Key\\": \\"kernelVersion\\"\}/#,
            with: #"{\"Value\": \"KERNEL\", \"Key\": \"kernelVersion\"}"#)
    }

    func check(_ name: String, _ status: HandlerStatus) throws {
        var status = status
        status.timestamp = Date(timeIntervalSince1970: 1_800_000_000)
        status.uniqueMachineId = "machine-1"
        for (kind, text) in [("blob", status.blobDocument()), ("file", status.fileDocument())] {
            let path = "\(Self.fixtures)/\(name).\(kind).json"
            let actual = Self.normalized(text) + "\n"
            if ProcessInfo.processInfo.environment["SNAPORCH_UPDATE_GOLDEN"] == "1" {
                try actual.write(toFile: path, atomically: true, encoding: .utf8)
            }
            let expected = try String(contentsOfFile: path, encoding: .utf8)
            #expect(actual == expected, "\(name).\(kind) differs from its golden file")
            // Whatever the golden says, the document must parse as JSON with the protocol's shape.
            let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            let body = try #require(json.first?["status"] as? [String: Any])
            #expect(body["code"] is String)
            #expect(body["name"] as? String == HandlerStatus.extensionName)
        }
    }

    @Test func applicationConsistentSuccess() throws {
        let status = StatusMapper.status(for: Self.report("app"), parameters: Self.parameters(), storage: Self.storage)
        #expect(status.code == 0 && status.snapshotConsistency == 2 && status.status == .success)
        #expect(
            status.blobDocument().contains(#""timestampUTC": "\/Date(1"#) || status.blobDocument().contains(#"\/Date("#)
        )
        try check("app-consistent", status)
    }

    @Test func filesystemConsistentWithAFailedPreScript() throws {
        let status = StatusMapper.status(
            for: Self.report("filesystem"), parameters: Self.parameters(), storage: Self.storage)
        #expect(status.code == 1 && status.snapshotConsistency == 1 && status.extErrorCode == 300)
        #expect(HandlerStatus.health(status.extErrorCode) == 128)
        try check("filesystem-consistent", status)
    }

    @Test func abortedBackup() throws {
        let status = StatusMapper.status(
            for: Self.report("aborted"), parameters: Self.parameters(), storage: Self.storage)
        #expect(status.status == .error && status.code == 300 && status.snapshotConsistency == 0)
        #expect(status.message.hasSuffix("StatusCode.FailedPrepostPreScriptFailed,"))
        try check("aborted", status)
    }

    @Test func staleCommand() throws {
        var status = HandlerStatus(
            status: .error, code: 402,
            message: "CRP timeout limit has reached, will not take snapshot. (command is 150 minutes old)",
            taskId: Self.parameters().taskId)
        status.commandStartTimeUTCTicks = "638526000000000000"
        #expect(HandlerStatus.health(402) == 256)
        try check("stale-command", status)
    }

    @Test func duplicateTask() throws {
        let status = HandlerStatus(
            status: .success, code: 0, message: "TaskId AlreadyProcessed nothing to do",
            taskId: Self.parameters().taskId)
        try check("duplicate-task", status)
    }

    @Test func malformedInput() throws {
        var pub = ["commandToExecute": "snapshot", "taskId": "t-1", "objectStr": "not base64 at all!!"]
        let data = try JSONSerialization.data(withJSONObject: pub)
        do throws(HandlerError) {
            _ = try BackupParameters.parse(publicJSON: data, protectedJSON: Data("{}".utf8))
            Issue.record("malformed objectStr accepted")
        } catch {
            #expect(error.code == .parameterError)
            let status = HandlerStatus(
                status: .error, code: error.code.rawValue, message: error.message, taskId: "t-1")
            try check("malformed-input", status)
        }
        pub.removeValue(forKey: "commandToExecute")
        #expect(throws: HandlerError.self) {
            try BackupParameters.parse(
                publicJSON: try JSONSerialization.data(withJSONObject: pub), protectedJSON: Data("{}".utf8))
        }
    }

    @Test func storageDetailsMeasureLocalFilesystems() {
        let (partitions, used) = StorageSize.measure()
        #expect(partitions >= 1 && used > 0, "the root filesystem alone is a local block filesystem in use")
    }

    @Test func dotNetTicksAndTimespans() {
        var p = BackupParameters()
        // 2026-11-26T00:00:00Z in .NET ticks.
        p.commandStartTimeUTCTicks = 621_355_968_000_000_000 + 1_795_651_200 * 10_000_000
        let age = p.commandAge(now: Date(timeIntervalSince1970: 1_795_651_200 + 141 * 60)) ?? 0
        #expect(Int(age) == 141 * 60)
        #expect(StatusMapper.dotNetSpan(microseconds: 1_203_000) == "0:00:01.203000")
    }
}
