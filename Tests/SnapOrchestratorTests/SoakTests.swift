import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// 200 consecutive full cycles in one process (script plugin + real guard and FIFREEZE on a loop
/// mount + blob snapshots on the emulator): no growth in open fds, child processes or memory.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct SoakTests {
    static func openFDs() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    static func rssKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Children of this process (alive or zombie).
    static func children() -> Int {
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { name in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == me
        }.count
    }

    @Test func twoHundredCyclesLeakNothing() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let tree = fx.tree
                let m = try await fx.loop()
                let app = tree.script("s/app.sh", "exit 0")
                var disks: [String] = []
                for i in 0..<2 {
                    let uri = try await emulator.disk("d\(i).vhd", size: 1024)
                    disks.append(uri)
                }
                let yaml =
                    "version: 1\nfreeze:\n  timeout: 5s\n  mounts: [\(m.mountPoint)]\nsnapshot:\n  provider: blob\n  timeout: 3s\nplugins:\n  - name: app\n    pre: \(app)\n    post: \(app)\n"
                let config = try #require(ConfigDecoder(file: "c").decode(Array(yaml.utf8)).config)
                var options = RunOptions()
                options.disks = disks.map(SASURI.init)
                var planner = Planner(environment: ["SNAPORCH_FREEZE_ALLOW": m.mountPoint])
                planner.allowList = [m.mountPoint]
                let plan = planner.plan(config, options: options)
                let launcher = PosixProcessLauncher()
                let orchestrator = Orchestrator(
                    launcher: launcher, freezer: GuardedFreezer(executable: TestEnv.snaporch),
                    makeProvider: { plan in SnapshotProviders.make(for: plan, launcher: launcher, environment: [:]) },
                    journal: nil)
                var baseline = (fds: 0, rss: 0, children: 0)
                var windows: [Int] = []
                for cycle in 1...200 {
                    let report = await orchestrator.execute(plan, runId: "soak-\(cycle)")
                    #expect(report.consistency == .application, "cycle \(cycle): \(report.reasons)")
                    windows.append(report.freeze.windowUs ?? 0)
                    if cycle == 20 { baseline = (Self.openFDs(), Self.rssKiB(), Self.children()) }
                }
                try await Task.sleep(for: .milliseconds(200))
                let after = (fds: Self.openFDs(), rss: Self.rssKiB(), children: Self.children())
                print(
                    "soak: fds \(baseline.fds) -> \(after.fds), RSS \(baseline.rss) -> \(after.rss) KiB, children \(baseline.children) -> \(after.children), window median \(windows.sorted()[100]) us"
                )
                #expect(after.fds <= baseline.fds + 2, "fds grew: \(baseline.fds) -> \(after.fds)")
                #expect(after.children <= baseline.children, "child processes accumulate: \(after.children)")
                #expect(
                    after.rss - baseline.rss < 30 * 1024, "RSS grew by \(after.rss - baseline.rss) KiB over 180 cycles")
            }
        }
    }
}
