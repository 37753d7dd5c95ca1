import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// What the freeze guard holds in memory while a filesystem is frozen, measured from the inside of
/// a real run through the binary: the snapshot command (which runs inside the window) copies the
/// guard's `/proc/<pid>/status` and `/proc/<pid>/maps` to files outside the frozen mounts.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct GuardFootprintTests {
    /// The issue's bound: the guard locks what its thaw path needs, not every library and thread stack.
    static let lockBoundKiB = 16 * 1024

    /// A snapshot command that copies the status and maps of the `__guard` child of its parent.
    static func probe(writingTo out: String) -> String {
        """
        for task in /proc/$PPID/task/*; do
          for pid in $(cat "$task/children"); do
            if tr '\\0' ' ' < "/proc/$pid/cmdline" | grep -q ' __guard '; then
              cp "/proc/$pid/status" \(out).status; cp "/proc/$pid/maps" \(out).maps
            fi
          done
        done
        test -s \(out).status
        """
    }

    /// `VmLck` and `VmRSS` (KiB) and the thread count from a `/proc/<pid>/status` text.
    static func fields(_ status: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ["VmLck", "VmRSS", "Threads"].contains(String(parts[0])) else { continue }
            out[String(parts[0])] = Int(parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return out
    }

    @Test(arguments: [1, 8])
    func theGuardLocksAtMostSixteenMiBWhileFrozen(mounts count: Int) async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            var loops: [LoopMount] = []
            for i in 0..<count { loops.append(try await fx.loop("m\(i)", sizeMB: 16)) }
            let out = tree.path("guard")
            let probe = tree.script("s/probe.sh", Self.probe(writingTo: out))
            let config = tree.write(
                "c.yaml",
                """
                version: 1
                freeze:
                  timeout: 10s
                snapshot:
                  provider: command
                  command: [\(probe)]
                  timeout: 5s
                """)
            var env = tree.environment
            env["SNAPORCH_FREEZE_ALLOW"] = loops.map(\.mountPoint).joined(separator: ":")
            let r = try await runCLI(
                ["run", "--config", config, "--json"] + loops.flatMap { ["--mount", $0.mountPoint] }, env: env,
                timeout: 60)
            let report = try JSONDecoder().decode(RunReport.self, from: Data(r.stdout.utf8))
            // The measurement was taken inside a real window: every mount frozen, then thawed.
            #expect(report.snapshot.taken, "\(report.reasons) \(r.stderr)")
            #expect(report.freeze.mounts.count == count && report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed })
            let status = try String(contentsOfFile: out + ".status", encoding: .utf8)
            let f = Self.fields(status)
            let locked = try #require(f["VmLck"], "no VmLck in the guard's status:\n\(status)")
            #expect(locked > 0, "the guard locked nothing: it may wait on paging while filesystems are frozen")
            #expect(
                locked <= Self.lockBoundKiB,
                "guard VmLck \(locked) KiB > \(Self.lockBoundKiB) KiB (VmRSS \(f["VmRSS"] ?? -1) KiB)")
            // Every worker has ended with its FIFREEZE: only the main thread is left (no runtime pool).
            #expect(f["Threads"] == 1, "guard threads while frozen: \(f["Threads"] ?? -1) for \(count) mount(s)")
            // libcurl is loaded only by commands that send HTTP, never by the guard.
            let maps = try String(contentsOfFile: out + ".maps", encoding: .utf8)
            #expect(!maps.contains("libcurl"), "the guard mapped libcurl")
            #expect(await writeCompletes(in: loops[0].mountPoint, within: 2))
        }
    }
}
