import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// kill -9 of the orchestrator at every boundary of a run (loop mount + snapshot command): after
/// each, no mount stays frozen, no plugin process is left, and `snaporch recover` runs the post
/// steps that are owed.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct FaultMatrixTests {
    /// Where the run is killed; `stop` ones use the SNAPORCH_FAULT_STOP_AT seam, the others a
    /// script that is running at that moment.
    static let points = ["pre", "window", "snapshot", "thaw", "post", "report"]

    func state(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    @Test(arguments: points)
    func killMinus9At(_ point: String) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            let log = tree.path("order.log")
            let first = tree.script(
                "s/first.sh", "echo $PPID > \(tree.path("orchestrator.pid")); echo $SNAPORCH_PHASE:first >> \(log)")
            let slow = tree.script(
                "s/slow.sh",
                """
                echo $SNAPORCH_PHASE:slow >> \(log)
                if [ "$SNAPORCH_PHASE" = pre ] && [ "\(point)" = pre ]; then echo $$ > \(tree.path("busy.pid")); sleep 60; fi
                """)
            let snap = tree.script(
                "s/snap.sh", point == "snapshot" ? "echo $$ > \(tree.path("busy.pid")); sleep 60" : "true")
            let config = tree.write(
                TestConfig(
                    freeze: .on(timeout: "30s", mounts: [m.mountPoint]), snapshot: .command([snap], timeout: "25s"),
                    plugins: [.script("first", pre: first, post: first), .script("slow", pre: slow, post: slow)]))
            let fixture = RunFixture(tree, freezing: [m])
            let stopAt = ["pre", "snapshot"].contains(point) ? [:] : ["SNAPORCH_FAULT_STOP_AT": point]
            let run = Task { try await fixture.run(config, env: stopAt) }
            // Wait until the run is exactly where it should die.
            var pid: Int32?
            var busy: Int32?
            for _ in 0..<2000 {
                pid =
                    pid
                    ?? tree.read("orchestrator.pid").flatMap {
                        Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                busy =
                    busy ?? tree.read("busy.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if let pid, ["pre", "snapshot"].contains(point) ? busy != nil : state(pid) == "T" { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let orchestrator = try #require(pid, "the run never started its first plugin")
            kill(orchestrator, SIGKILL)
            let result = try await run.value
            #expect(result.status == .signaled(SIGKILL), "the run ended before the kill: \(result.stderr)")
            #expect(await writeCompletes(in: m.mountPoint, within: 1), "\(point): still frozen 1 s after kill -9")
            // The guard thaws first, then exits (unlocking its memory takes a moment).
            for _ in 0..<200 where !findGuards(m.mountPoint).isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(findGuards(m.mountPoint).isEmpty, "\(point): a guard outlived its orchestrator")
            // The next command finishes the interrupted run's duties.
            let recover = try await RunFixture(tree).recover()
            #expect(recover.code == 0, "\(recover.stdout)\(recover.stderr)")
            let lines = (tree.read("order.log") ?? "").split(separator: "\n").map(String.init)
            if point == "report" {
                #expect(recover.stdout.contains("nothing to recover"), "posts had run before the report")
                #expect(lines.suffix(2) == ["post:slow", "post:first"])
            } else {
                #expect(recover.stdout.contains("post first: succeeded"), "\(point): \(recover.stdout)")
                #expect(lines.last == "post:first", "\(point): posts owed were not run: \(lines)")
            }
            if let busy {
                try await Task.sleep(for: .milliseconds(100))
                #expect(!processAlive(busy), "\(point): a plugin process was left running")
            }
        }
    }

    @Test func killingTheHandlerDaemonInTheWindowStillEndsWithTerminalStatuses() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let m = try await fx.loop()
            tree.write(
                TestConfig(
                    freeze: .on(timeout: "30s", mounts: [m.mountPoint]), snapshot: .command(["/bin/true"]), plugins: []),
                at: TestConfig.defaultPath)
            let handler = try await HandlerFixture(tree: tree)
            try await handler.writeSettings(
                sequence: 0, publicSettings: HandlerFixture.publicSettings(taskId: "task-a", statusBlob: nil),
                protectedSettings: nil)
            var env = RunFixture(tree, freezing: [m]).environment
            env["SNAPORCH_FAULT_STOP_AT"] = "window"
            env["ConfigSequenceNumber"] = "0"
            _ = try await runCLI(["handler", "enable"], env: env, cwd: handler.extDir)
            var daemon: Int32?
            for _ in 0..<2000 where daemon == nil {
                if let text = tree.read("run/snaporch/daemon.pid"),
                    let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                    state(pid) == "T"
                {
                    daemon = pid
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            kill(try #require(daemon, "the daemon never reached the window"), SIGKILL)
            #expect(await writeCompletes(in: m.mountPoint, within: 1))
            env.removeValue(forKey: "SNAPORCH_FAULT_STOP_AT")
            try await handler.writeSettings(
                sequence: 1, publicSettings: HandlerFixture.publicSettings(taskId: "task-b", statusBlob: nil),
                protectedSettings: nil)
            let next = try await handler.enableAndWait(sequence: 1, env: env)
            #expect(next["code"] as? String == "1", "\(next)")
            let lost = try #require(handler.statusBody(0))
            #expect(lost["code"] as? String == "2")
        }
    }

    func findGuards(_ mount: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else {
                return nil
            }
            let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return args.contains("__guard") && args.contains(mount) && processAlive(pid) ? pid : nil
        }
    }
}
