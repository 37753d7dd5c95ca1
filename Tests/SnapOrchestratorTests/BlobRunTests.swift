import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Full runs: plugins + loop mounts + blob snapshots on the emulator + the status blob.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct BlobRunTests {
    func config(_ tree: TestTree) -> String {
        let log = tree.path("order.log")
        let pre = tree.script("s/pre.sh", "echo pre >> \(log)")
        let post = tree.script("s/post.sh", "echo post $SNAPORCH_OUTCOME $SNAPORCH_CONSISTENCY >> \(log)")
        return tree.write(
            TestConfig(
                freeze: .on(timeout: "5s"), snapshot: .blob(timeout: "4s"),
                plugins: [.script("app", pre: pre, post: post)]))
    }

    @Test func applicationConsistentRunWithStatusBlob() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let m = try await fx.loop()
                var args = ["run", "--config", config(fx.tree), "--mount", m.mountPoint, "--json"]
                for i in 0..<2 {
                    let uri = try await emulator.disk("d\(i).vhd")
                    args += ["--disk", uri]
                }
                let status = try await emulator.sas("status", "run.status")
                args += ["--status-blob", status]
                let r = try await RunFixture(fx.tree, freezing: [m]).snaporch(args)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .application)
                #expect(report.snapshot.disks.count == 2 && report.snapshot.disks.allSatisfy(\.ok))
                #expect(fx.tree.read("order.log") == "pre\npost snapshot-taken application\n")
                // The status blob holds the same report and parses.
                let (data, _) = try await URLSession.shared.data(from: URL(string: status)!)
                let uploaded = try JSONDecoder().decode(RunReport.self, from: data)
                #expect(uploaded.runId == report.runId)
                // And the official Azure SDK reads the same blob back.
                // The python3 of the caller's PATH: where scripts/setup installed the SDK.
                let python =
                    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                    .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "python3"
                let sdk = try await sh(
                    "\(python) -c 'import json, sys; from azure.storage.blob import BlobClient; "
                        + "print(json.loads(BlobClient.from_blob_url(sys.argv[1]).download_blob().readall())[\"runId\"])' "
                        + ShellQuote.quote(status))
                #expect(sdk.code == 0 && sdk.output.contains(report.runId), "\(sdk.output.prefix(500))")
                // No SAS signature anywhere the admin or the service can see.
                let local = try String(
                    contentsOfFile: fx.tree.path("var/lib/snaporch/last-report.json"), encoding: .utf8)
                for text in [r.stdout, r.stderr, local, String(decoding: data, as: UTF8.self)] {
                    #expect(!text.contains("sig="), "a SAS signature leaked")
                }
            }
        }
    }

    @Test func failingStatusUploadStillWritesTheLocalReport() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let m = try await fx.loop()
                let disk = try await emulator.disk("d0.vhd")
                _ = try await emulator.control("POST", "faults", json: ["match": "/status/", "status": 503])
                let status = try await emulator.sas("status", "run.status")
                let fixture = RunFixture(fx.tree, freezing: [m])
                let r = try await fixture.run(
                    config(fx.tree), ["--mount", m.mountPoint, "--disk", disk, "--status-blob", status])
                #expect(r.code == 0)
                let local = try fixture.storedReport()
                #expect(
                    local.errors.contains {
                        $0.message.contains("status blob: upload to") && $0.message.contains("HTTP 503")
                    })
                #expect(local.consistency == .application)
            }
        }
    }

    @Test func hostProviderRunUsesTheWireServerOverride() async throws {
        try await withFreezeFixture { fx in
            try await withWireServer { server in
                let m = try await fx.loop()
                let log = fx.tree.path("order.log")
                let pre = fx.tree.script("s/pre.sh", "echo pre >> \(log)")
                let config = fx.tree.write(
                    TestConfig(
                        freeze: .on(timeout: "5s"), snapshot: .host(timeout: "4s"), plugins: [.script("app", pre: pre)]),
                    at: "h.yaml")
                let r = try await RunFixture(fx.tree, freezing: [m]).run(
                    config, ["--mount", m.mountPoint, "--task-id", "T-1", "--json"],
                    env: ["SNAPORCH_WIRESERVER": "127.0.0.1:\(server.port)"])
                #expect(r.code == 0, "\(r.stderr)")
                let report = try r.report()
                #expect(report.snapshot.provider == .host && report.consistency == .application)
                let requests = try await server.control("GET", "requests") as? [[String: Any]] ?? []
                #expect((requests.last?["body"] as? [String: Any])?["taskId"] as? String == "T-1")
            }
        }
    }

    @Test func noSecretInAnyProcessArgumentListDuringARun() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let tree = fx.tree
                let m = try await fx.loop()
                let disk = try await emulator.disk("d0.vhd")
                let status = try await emulator.sas("status", "s.json")
                let disksFile = tree.write("disks.txt", "# disks\n\(disk)\n", mode: 0o600)
                let statusFile = tree.write("status.txt", status + "\n", mode: 0o600)
                let marker = tree.path("in-pre")
                let pre = tree.script("s/pre.sh", "touch \(marker); sleep 1")
                let config = tree.write(
                    TestConfig(
                        freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .blob(timeout: "5s"),
                        plugins: [.script("app", pre: pre)]))
                let run = Task {
                    try await RunFixture(tree, freezing: [m]).run(
                        config, ["--disk", "@\(disksFile)", "--status-blob", "@\(statusFile)"])
                }
                var scanned = 0
                var leaks: [String] = []
                let end = Date().addingTimeInterval(20)
                while Date() < end {
                    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
                    where Int32(name) != nil {
                        guard let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
                        let text = String(decoding: data, as: UTF8.self)
                        scanned += 1
                        if text.contains("sig=") && text.contains("snaporch") {
                            leaks.append(text.replacing("\0", with: " "))
                        }
                    }
                    if FileManager.default.fileExists(atPath: marker) && run.isCancelled == false {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    if let r = try? await withTimeout(run) { #expect(r.code == 0, "\(r.stderr)"); break }
                }
                #expect(scanned > 100)
                #expect(leaks.isEmpty, "a SAS signature in a process argument list: \(leaks.first ?? "")")
                let (data, _) = try await URLSession.shared.data(from: URL(string: status)!)
                #expect(!data.isEmpty, "the status blob from the @file was written")
            }
        }
    }
}

extension BlobRunTests {
    @Test func settingsFileDrivesARunByHand() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let tree = fx.tree
                let m = try await fx.loop()
                let disk = try await emulator.disk("d0.vhd")
                let status = try await emulator.sas("status", "by-hand.json")
                var pub = HandlerFixture.publicSettings(taskId: "task-by-hand", statusBlob: status)
                pub["customSettings"] = "{\"takeSnapshotFrom\": \"onlyGuest\"}"
                let settings: [String: Any] = [
                    "runtimeSettings": [
                        [
                            "handlerSettings": [
                                "publicSettings": pub,
                                "protectedSettings": HandlerFixture.protectedSettings(disks: [disk]),
                            ]
                        ]
                    ]
                ]
                let file = tree.path("settings.json")
                try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: file))
                chmod(file, 0o600)
                let fixture = RunFixture(tree, freezing: [m])
                let r = try await fixture.run(config(tree), ["--mount", m.mountPoint, "--settings", file, "--json"])
                #expect(r.code == 0, "\(r.stderr)")
                let report = try r.report()
                #expect(
                    report.taskId == "task-by-hand" && report.snapshot.disks.count == 1
                        && report.consistency == .application)
                let (data, _) = try await URLSession.shared.data(from: URL(string: status)!)
                #expect((try? JSONDecoder().decode(RunReport.self, from: data))?.taskId == "task-by-hand")
                chmod(file, 0o644)
                let refused = try await fixture.run(config(tree), ["--settings", file])
                #expect(refused.code == 2 && refused.stderr.contains("credentials must be 0600"))
            }
        }
    }
}

/// The task's value if it already finished, else nil after a short wait.
func withTimeout<T: Sendable>(_ task: Task<T, any Error>) async throws -> T? {
    let done = Flag()
    let waiter = Task { () -> T? in
        let value = try await task.value
        done.set()
        return value
    }
    try await Task.sleep(for: .milliseconds(30))
    if done.value { return try await waiter.value }
    return nil
}
