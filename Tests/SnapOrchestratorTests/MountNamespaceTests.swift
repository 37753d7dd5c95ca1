import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A mount table far larger than one 4 KiB read: ≥ 2000 tmpfs mounts in a private mount namespace
/// (`unshare -m --propagation private`, so nothing leaks into the host's namespace), then a loop
/// mount made last. The binary runs inside that namespace and must see the loop mount, both when it
/// is named with `--mount` (dry run and real freeze) and by automatic selection (dry run only: a
/// test never lets automatic selection freeze anything; `SNAPORCH_FREEZE_ALLOW` bounds it anyway).
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct MountNamespaceTests {
    /// Mounts `count` tmpfs under `base` from one process (fast: no fork per mount).
    static let mountMany = """
        import ctypes, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        base, count = sys.argv[1], int(sys.argv[2])
        for i in range(count):
            path = os.path.join(base, "tmpfs-mount-with-a-long-name-to-fill-the-table-%05d" % i)
            os.makedirs(path, exist_ok=True)
            if libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, b"size=4k") != 0:
                sys.exit("mount %s: %s" % (path, os.strerror(ctypes.get_errno())))
        """

    @Test func theLastOfTwoThousandMountsIsSeenByMountAndByAutomaticSelection() async throws {
        let tree = TestTree("ns")
        defer { tree.cleanup() }
        let image = tree.path("last.img")
        let mountPoint = tree.path("last")
        let many = tree.path("many")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: many, withIntermediateDirectories: true)
        let made = try await sh("truncate -s 32M \(image) && mkfs.ext4 -q -F \(image)")
        try #require(made.code == 0, "\(made.output)")
        defer { _ = try? FileManager.default.removeItem(atPath: image) }
        let helper = tree.write("mount_many.py", Self.mountMany)
        let log = tree.path("order.log")
        let step = tree.script("s/step.sh", "echo \"$SNAPORCH_PHASE\" >> \(log)")
        let config = tree.write(
            "c.yaml",
            """
            version: 1
            freeze:
              timeout: 10s
              exclude: []
            snapshot:
              provider: command
              command: [/bin/true]
              timeout: 5s
            plugins:
              - name: app
                pre: \(step)
                post: \(step)
            """)
        let bin = TestEnv.snaporch
        let env = "SNAPORCH_ROOT=\(tree.root) SNAPORCH_FREEZE_ALLOW=\(mountPoint) PATH=/usr/sbin:/usr/bin:/sbin:/bin"
        let out = tree.path("out")
        // Inside the namespace: 2000 tmpfs, then the loop mount, then four runs; always thaw and
        // unmount (the tmpfs mounts die with the namespace).
        let script = tree.script(
            "ns.sh",
            """
            trap 'fsfreeze -u \(mountPoint) 2>/dev/null; umount \(mountPoint) 2>/dev/null' EXIT
            python3 \(helper) \(many) 2000 || exit 10
            mount -o loop \(image) \(mountPoint) || exit 11
            mkdir -p \(out)
            wc -c < /proc/self/mountinfo > \(out)/bytes
            env \(env) \(bin) run --dry-run --config \(config) --mount \(mountPoint) --json > \(out)/dry-explicit.txt
            echo $? > \(out)/dry-explicit.rc
            env \(env) \(bin) run --dry-run --config \(config) --json > \(out)/dry-auto.txt
            echo $? > \(out)/dry-auto.rc
            env \(env) \(bin) run --config \(config) --mount \(mountPoint) --json > \(out)/run-explicit.json
            echo $? > \(out)/run-explicit.rc
            """)
        let r = try await sh("unshare -m --propagation private /bin/sh \(script)", timeout: 240)
        _ = try? await sh("for d in $(losetup -j \(image) -O NAME -n); do losetup -d $d; done; true")
        try #require(r.code == 0, "namespace script failed (\(r.code)): \(r.output)")
        // Nothing leaked into this namespace.
        #expect(!MountTable.entries().contains { $0.mountPoint.hasPrefix(tree.root) })
        let bytes = Int(tree.read("out/bytes")?.trimmingSpaces ?? "") ?? 0
        #expect(bytes > 256 * 1024, "the namespace's mountinfo is only \(bytes) bytes")

        for name in ["dry-explicit", "dry-auto"] {
            #expect(
                tree.read("out/\(name).rc")?.trimmingSpaces == "0", "\(name): \(tree.read("out/\(name).txt") ?? "")")
            let plan = tree.read("out/\(name).txt") ?? ""
            let freezeLine = plan.split(separator: "\n").first { $0.contains("mount(s) through the guard") } ?? ""
            #expect(
                freezeLine.hasSuffix(": \(mountPoint) (ext4)") && freezeLine.contains("freeze 1 mount(s)"),
                "\(name) does not select \(mountPoint): \(plan.prefix(1500))")
        }
        for name in ["run-explicit"] {
            #expect(
                tree.read("out/\(name).rc")?.trimmingSpaces == "0", "\(name): \(tree.read("out/\(name).json") ?? "")")
            let json = Data((tree.read("out/\(name).json") ?? "").utf8)
            let report = try JSONDecoder().decode(RunReport.self, from: json)
            #expect(report.freeze.mounts.map(\.mountPoint) == [mountPoint], "\(name): \(report.reasons)")
            #expect(report.freeze.mounts.allSatisfy { $0.frozen && $0.thawed }, "\(name)")
            #expect(report.consistency == .application, "\(name): \(report.reasons)")
        }
        #expect(tree.read("order.log") == "pre\npost\n")
    }
}
