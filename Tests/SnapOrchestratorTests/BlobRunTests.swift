import Foundation
import Glibc
import Testing

@testable import SnapOrchestrator

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
            "c.yaml",
            """
            version: 1
            freeze:
              timeout: 5s
            snapshot:
              provider: blob
              timeout: 4s
            plugins:
              - name: app
                pre: \(pre)
                post: \(post)
            """)
    }

    @Test func applicationConsistentRunWithStatusBlob() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let m = try await fx.loop()
                var args = ["run", "--config", config(fx.tree), "--mount", m.mountPoint, "--json"]
                for i in 0..<2 {
                    let uri = try await emulator.sas("vhds", "d\(i).vhd")
                    try await emulator.createBlob(uri, pageBlobSize: 4096)
                    args += ["--disk", uri]
                }
                let status = try await emulator.sas("status", "run.status")
                args += ["--status-blob", status]
                var env = fx.tree.environment
                env["SNAPORCH_FREEZE_ALLOW"] = m.mountPoint
                let r = try await runCLI(args, env: env)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                #expect(report.consistency == .application)
                #expect(report.snapshot.disks.count == 2 && report.snapshot.disks.allSatisfy(\.ok))
                #expect(fx.tree.read("order.log") == "pre\npost snapshot-taken application\n")
                // The status blob holds the same report and parses.
                let (data, _) = try await URLSession.shared.data(from: URL(string: status)!)
                let uploaded = try JSONDecoder().decode(RunReport.self, from: data)
                #expect(uploaded.runId == report.runId)
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
                let disk = try await emulator.sas("vhds", "d0.vhd")
                try await emulator.createBlob(disk, pageBlobSize: 4096)
                _ = try await emulator.control("POST", "faults", json: ["match": "/status/", "status": 503])
                let status = try await emulator.sas("status", "run.status")
                var env = fx.tree.environment
                env["SNAPORCH_FREEZE_ALLOW"] = m.mountPoint
                let r = try await runCLI(
                    [
                        "run", "--config", config(fx.tree), "--mount", m.mountPoint, "--disk", disk, "--status-blob",
                        status,
                    ], env: env)
                #expect(r.code == 0)
                let local = try ReportStore(paths: Paths(root: fx.tree.root)).load(
                    fx.tree.path("var/lib/snaporch/last-report.json"))
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
                    "h.yaml",
                    """
                    version: 1
                    freeze:
                      timeout: 5s
                    snapshot:
                      provider: host
                      timeout: 4s
                    plugins:
                      - name: app
                        pre: \(pre)
                    """)
                var env = fx.tree.environment
                env["SNAPORCH_FREEZE_ALLOW"] = m.mountPoint
                env["SNAPORCH_WIRESERVER"] = "127.0.0.1:\(server.port)"
                let r = try await runCLI(
                    ["run", "--config", config, "--mount", m.mountPoint, "--task-id", "T-1", "--json"], env: env)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
                #expect(report.snapshot.provider == "host" && report.consistency == .application)
                let requests = try await server.control("GET", "requests") as? [[String: Any]] ?? []
                #expect((requests.last?["body"] as? [String: Any])?["taskId"] as? String == "T-1")
            }
        }
    }
}
