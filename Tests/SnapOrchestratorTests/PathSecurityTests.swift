import Foundation
import Glibc
import Testing

@testable import SnapOrchestrator

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
}
