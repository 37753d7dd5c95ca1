import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The ownership/permission rule on real files with real chmod/chown (chown needs root).
@Suite(.enabled(if: TestEnv.isRoot || TestEnv.isCI, "chown to another user needs root"))
struct PathSecurityTests {
    let rule = PathSecurity(trustedOwners: [0])

    @Test func rootOwned0755ScriptInSafeTreeIsAccepted() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/prepost/ok.sh", "exit 0")
        #expect(rule.problems(for: script) == [])
    }

    @Test func scriptOwnedByAnotherUserIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/prepost/other.sh", "exit 0")
        chown(script, 65534, 65534)
        let problems = rule.problems(for: script)
        #expect(problems.contains { $0.contains("owned by uid 65534") })
    }

    @Test func groupWritableScriptIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/prepost/gw.sh", "exit 0")
        chmod(script, 0o775)
        #expect(rule.problems(for: script).contains { $0.contains("writable by its group") && $0.contains("775") })
    }

    @Test func groupWritableParentDirectoryIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/prepost/s.sh", "exit 0")
        chmod(tree.path("etc"), 0o775)
        #expect(rule.problems(for: script).contains { $0.contains("directory \(tree.path("etc"))") })
    }

    @Test func stickyWorldWritableParentNeedsRootOwnedEntry() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("shared/s.sh", "exit 0")
        chmod(tree.path("shared"), 0o1777)
        #expect(rule.problems(for: script) == [])
        chown(script, 65534, 65534)
        #expect(rule.problems(for: script).contains { $0.contains("sticky world-writable") })
        chmod(tree.path("shared"), 0o777)
        chown(script, 0, 0)
        #expect(rule.problems(for: script).contains { $0.contains("writable by group and others") })
    }

    @Test func symlinkToUnsafeFileIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let target = tree.script("home/user/evil.sh", "exit 0")
        chown(tree.path("home/user"), 65534, 65534)
        let link = tree.path("etc/prepost/link.sh")
        try FileManager.default.createDirectory(atPath: tree.path("etc/prepost"), withIntermediateDirectories: true)
        symlink(target, link)
        let problems = rule.problems(for: link)
        #expect(problems.contains { $0.contains("home/user") && $0.contains("uid 65534") })
    }

    @Test func validateRefusesAnUnsafeScriptWithItsPath() async throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/azure/prepost/pre.sh", "exit 0")
        chmod(script, 0o777)
        tree.write(
            "etc/azure/prepost/prepost.yaml", "version: 1\nplugins:\n  - name: a\n    pre: /etc/azure/prepost/pre.sh\n")
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 1)
        #expect(
            r.stderr.contains(
                "prepost.yaml:3:5: error: plugin 'a' pre refused: \(script) is writable by group and others"))
    }

    @Test func aRootSymlinkInAUserOwnedDirectoryMidPathIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        tree.script("safe/pre.sh", "exit 0")
        try FileManager.default.createDirectory(atPath: tree.path("home/user"), withIntermediateDirectories: true)
        symlink(tree.path("safe"), tree.path("home/user/link"))
        chown(tree.path("home/user"), 65534, 65534)
        let problems = rule.problems(for: tree.path("home/user/link/pre.sh"))
        #expect(problems.contains { $0.contains("directory \(tree.path("home/user")) is owned by uid 65534") })
        // The same file through a root-only path is fine.
        #expect(rule.problems(for: tree.path("safe/pre.sh")) == [])
    }

    @Test func aUserOwnedSymlinkInAStickySharedDirectoryIsRefused() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        tree.script("safe/pre.sh", "exit 0")
        try FileManager.default.createDirectory(atPath: tree.path("shared"), withIntermediateDirectories: true)
        chmod(tree.path("shared"), 0o1777)
        symlink(tree.path("safe"), tree.path("shared/link"))
        #expect(rule.problems(for: tree.path("shared/link/pre.sh")) == [])
        lchown(tree.path("shared/link"), 65534, 65534)
        let problems = rule.problems(for: tree.path("shared/link/pre.sh"))
        #expect(problems.contains { $0.contains("sits in the sticky world-writable") })
        #expect(problems.contains { $0.contains("symlink \(tree.path("shared/link")) is owned by uid 65534") })
    }

    @Test func relativeLinksAndDotDotResolveThroughTheDirectoriesWalked() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        tree.script("a/b/pre.sh", "exit 0")
        try FileManager.default.createDirectory(atPath: tree.path("c"), withIntermediateDirectories: true)
        symlink("../a/b", tree.path("c/up"))
        #expect(rule.problems(for: tree.path("c/up/pre.sh")) == [])
        #expect(rule.problems(for: tree.path("c/../a/./b/pre.sh")) == [])
        symlink("loop", tree.path("c/loop"))
        #expect(rule.problems(for: tree.path("c/loop/x")).contains { $0.contains("too many levels") })
        #expect(rule.problems(for: tree.path("c/none.sh")).contains { $0.contains("No such file") })
    }

    @Test func theCheckedDescriptorKeepsNamingTheCheckedFileAfterASwap() throws {
        let tree = TestTree("sec")
        defer { tree.cleanup() }
        let script = tree.script("etc/pre.sh", "exit 0")
        var before = stat()
        stat(script, &before)
        let fd = try rule.openChecked(script).get()
        defer { close(fd) }
        rename(script, tree.path("etc/old.sh"))
        tree.script("etc/pre.sh", "exit 1")
        var held = stat()
        #expect(fstat(fd, &held) == 0)
        #expect(held.st_ino == before.st_ino)
    }

    @Test(arguments: [
        ("python3", "python3"), ("-S python3 -u", "python3"), ("-S -i PATH=/x sh", "sh"), ("-S -u HOME bash", "bash"),
        ("/opt/venv/bin/python", "/opt/venv/bin/python"), ("-Spython3 -u", "python3"),
    ])
    func envLinesNameTheProgramTheyRun(_ argument: String, _ command: String) {
        #expect(InterpreterChain.envCommand(argument) == command)
    }
}
