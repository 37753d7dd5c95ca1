import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// `snaporch hook install|uninstall PLATFORM` through the binary: the wrappers land where each
/// agent looks (under `--root` or `SNAPORCH_ROOT`), 0755, run this binary's `hook` with the
/// platform's arguments; a file that is not ours is never replaced without `--force`, never removed.
@Suite(.timeLimit(.minutes(2)))
struct HookInstallTests {
    func mode(_ path: String) throws -> UInt32 { try FileStatus.of(path, followingSymlinks: false).permissions }

    @Test func installWritesEachPlatformsWrapperWhereItsAgentLooks() async throws {
        let tree = TestTree("hook")
        defer { tree.cleanup() }
        for platform in ["qemu-ga", "vmware", "gce"] {
            let r = try await runCLI(["hook", "install", platform, "--root", tree.root])
            #expect(r.code == 0, "\(platform): \(r.stderr)")
        }
        let files = [
            "etc/qemu/fsfreeze-hook.d/snaporch", "etc/vmware-tools/backupScripts.d/snaporch",
            "etc/google/snapshots/pre.sh", "etc/google/snapshots/post.sh",
        ]
        for file in files {
            #expect(try mode(tree.path(file)) == 0o755, "\(file)")
            #expect(HookInstaller.isOurs(tree.path(file)), "\(file)")
        }
        #expect(try mode(tree.path("etc/google/snapshots")) == 0o700, "the Google agent's own mode")
        #expect(try mode(tree.path("etc/google")) == 0o755)
        // Each wrapper runs this binary's hook for its platform: an operation the platform never
        // sends is a usage error naming that platform's contract.
        let cases = [
            ("etc/vmware-tools/backupScripts.d/snaporch", "VMware Tools calls its scripts"),
            ("etc/qemu/fsfreeze-hook.d/snaporch", "qemu-ga calls its hook with freeze or thaw"),
        ]
        for (file, message) in cases {
            let r = try await sh(ShellQuote.quote(tree.path(file)) + " bogus")
            #expect(r.code == 2 && r.output.contains(message), "\(file): \(r.output)")
        }
        let pre = try await sh(ShellQuote.quote(tree.path("etc/google/snapshots/pre.sh")) + " a b c")
        #expect(pre.code == 2 && pre.output.contains("pre.sh or post.sh"), "\(pre.output)")
    }

    @Test func aForeignFileIsKeptUnlessForcedAndNeverUninstalled() async throws {
        let tree = TestTree("hook")
        defer { tree.cleanup() }
        let foreign = tree.write("etc/vmware-tools/backupScripts.d/snaporch", "#!/bin/sh\necho mine\n", mode: 0o755)
        let refused = try await runCLI(["hook", "install", "vmware", "--root", tree.root])
        #expect(refused.code == 1 && refused.stderr.contains("is not a snaporch wrapper"), "\(refused.stderr)")
        #expect(tree.read("etc/vmware-tools/backupScripts.d/snaporch") == "#!/bin/sh\necho mine\n")
        let kept = try await runCLI(["hook", "uninstall", "vmware", "--root", tree.root])
        #expect(kept.code == 0 && kept.stderr.contains("kept \(foreign)"), "\(kept.stderr)")
        #expect(FileManager.default.fileExists(atPath: foreign))
        let forced = try await runCLI(["hook", "install", "vmware", "--root", tree.root, "--force"])
        #expect(forced.code == 0, "\(forced.stderr)")
        #expect(HookInstaller.isOurs(foreign))
        let again = try await runCLI(["hook", "install", "vmware", "--root", tree.root])
        #expect(again.code == 0, "re-installing over our own wrapper needs no --force: \(again.stderr)")
        let removed = try await runCLI(["hook", "uninstall", "vmware", "--root", tree.root])
        #expect(removed.code == 0 && removed.stdout.contains("removed \(foreign)"))
        #expect(!FileManager.default.fileExists(atPath: foreign))
    }

    @Test func installHonoursSnaporchRootAndBakesTheConfig() async throws {
        let tree = TestTree("hook")
        defer { tree.cleanup() }
        let r = try await runCLI(
            ["hook", "install", "gce", "--config", "/etc/snap/c.yaml"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        let text = try #require(tree.read("etc/google/snapshots/post.sh"))
        #expect(text.contains("hook --config /etc/snap/c.yaml gce post \"$@\""), "\(text)")
    }

    @Test func theShippedAWSDocumentIsTheGeneratedOne() async throws {
        let r = try await runCLI(["hook", "install", "aws"])
        #expect(r.code == 0, "\(r.stderr)")
        let shipped = try String(
            contentsOfFile: CLIDeclarationTests.repo + "/Plugins-examples/aws/snaporch-dlm-document.yaml",
            encoding: .utf8)
        let binary = URL(fileURLWithPath: TestEnv.snaporch).resolvingSymlinksInPath().path
        let generated = r.stdout.replacing(binary, with: "/usr/local/bin/snaporch")
        #expect(
            generated == shipped,
            "regenerate: snaporch hook install aws > Plugins-examples/aws/snaporch-dlm-document.yaml")
        let body = try #require(AWSDocument.shellBody(of: shipped, command: "pre-script"))
        #expect(body.hasPrefix("#!/bin/sh\n") && body.contains("exec /usr/local/bin/snaporch hook aws 'pre-script'"))
    }
}
