import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Only root's checked code runs as root: the interpreter chain of a script, every component of
/// its path (symlinks and the directories holding them), and the file finally executed — through
/// the `snaporch` binary, with files really owned by another user (`nobody`).
@Suite(
    .serialized, .timeLimit(.minutes(5)),
    .enabled(if: TestEnv.isRoot || TestEnv.isCI, "chown to another user needs root (CI=true makes this a failure)"))
struct ExecSecurityTests {
    static let nobody: UInt32 = 65534

    /// A config with one script plugin, no freeze and no snapshot.
    func writeConfig(_ tree: TestTree, pre: String, post: String? = nil) {
        tree.write(TestConfig(plugins: [.script("a", pre: pre, post: post)]), at: TestConfig.defaultPath)
    }

    /// A user-owned "interpreter" (a venv's `python`, say): it marks that it ran, then hands over to /bin/sh.
    func userInterpreter(_ tree: TestTree, marker: String) async throws -> String {
        let interpreter = tree.write(
            "home/user/venv/bin/python", "#!/bin/sh\necho pwned >> \(marker)\nexec /bin/sh \"$@\"\n", mode: 0o755)
        #expect(try await sh("chown -R nobody:nogroup \(tree.path("home/user"))").code == 0)
        return interpreter
    }

    @Test(arguments: ["direct", "env", "nested"])
    func aRootScriptWithAUserOwnedInterpreterIsRefused(_ form: String) async throws {
        let tree = TestTree("interp")
        defer { tree.cleanup() }
        let marker = tree.path("pwned")
        let interpreter = try await userInterpreter(tree, marker: marker)
        let shebang: String
        switch form {
        case "direct": shebang = "#!\(interpreter)"
        case "env": shebang = "#!/usr/bin/env \(interpreter)"
        default:
            // A root-owned interpreter script whose own interpreter is the user's.
            let wrapper = tree.write(
                "usr/lib/wrap/run", "#!\(interpreter)\nexec /bin/sh \"$@\"\n", mode: 0o755)
            shebang = "#!\(wrapper)"
        }
        let script = tree.write("etc/azure/prepost/pre.sh", "\(shebang)\necho ran > \(tree.path("ran"))\n", mode: 0o755)
        writeConfig(tree, pre: script)

        let validate = try await runCLI(["validate"], env: tree.environment)
        #expect(validate.code == 1, "\(form): validate accepted a user-owned interpreter: \(validate.stdout)")
        #expect(
            validate.stderr.contains("interpreter") && validate.stderr.contains("uid 65534"),
            "\(form): \(validate.stderr)")

        let run = try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment)
        #expect(!FileManager.default.fileExists(atPath: marker), "\(form): the user's interpreter ran as root")
        let report = try JSONDecoder().decode(RunReport.self, from: Data(run.stdout.utf8))
        #expect(report.plugins.first?.pre?.status == .failed, "\(form): \(run.stdout)")
        #expect(report.plugins.first?.pre?.error?.contains("interpreter") == true, "\(form): \(run.stdout)")
    }

    @Test func aRootInterpreterChainStillRuns() async throws {
        let tree = TestTree("interp")
        defer { tree.cleanup() }
        let wrapper = tree.write("usr/lib/wrap/run", "#!/bin/sh\nexec /bin/sh \"$@\"\n", mode: 0o755)
        let out = tree.path("args")
        let direct = tree.write(
            "etc/azure/prepost/pre.sh", "#!/usr/bin/env sh\necho \"$0 $*\" > \(out)\n", mode: 0o755)
        let nested = tree.write(
            "etc/azure/prepost/post.sh", "#!\(wrapper)\necho \"$0 $*\" >> \(out)\n", mode: 0o755)
        writeConfig(tree, pre: direct, post: nested)
        let validate = try await runCLI(["validate"], env: tree.environment)
        #expect(validate.code == 0, "\(validate.stderr)")
        let run = try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment)
        #expect(run.code == 0, "\(run.stderr)")
        // The script still sees its own path as $0 (scripts find their siblings through it).
        #expect(tree.read("args") == "\(direct) \n\(nested) \n")
    }

    @Test func aUserOwnedSymlinkSwappedInARaceNeverRunsTheUsersScript() async throws {
        let tree = TestTree("race")
        defer { tree.cleanup() }
        let marker = tree.path("pwned")
        tree.script("safe/pre.sh", "exit 0")
        tree.script("home/user/evil/pre.sh", "echo pwned >> \(marker)")
        let link = tree.path("home/user/link")
        symlink(tree.path("safe"), link)
        #expect(try await sh("chown -hR nobody:nogroup \(tree.path("home/user"))").code == 0)
        writeConfig(tree, pre: link + "/pre.sh")

        // validate rejects the path outright, whichever way the link points now.
        let validate = try await runCLI(["validate"], env: tree.environment)
        #expect(validate.code == 1, "validate accepted a path through a user's symlink: \(validate.stdout)")
        #expect(validate.stderr.contains(tree.path("home/user")) && validate.stderr.contains("uid 65534"))

        // The user swaps the link in a tight loop between the root script's directory and their own.
        let pidFile = tree.path("home/user/swapper.pid")
        let swap = """
            open(my $f, '>', '\(pidFile)'); print $f "$$\\n"; close($f);
            while (1) { for my $t ('\(tree.path("safe"))', '\(tree.path("home/user/evil"))') {
              unlink '\(link).new'; symlink($t, '\(link).new'); rename('\(link).new', '\(link)'); } }
            """
        let swapper = Task {
            try await sh(
                "exec setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/perl -e \"$(cat <<'EOF'\n\(swap)\nEOF\n)\"",
                timeout: 240)
        }
        let pid = try await waitForPid(in: pidFile)
        defer {
            kill(pid, SIGKILL)
            swapper.cancel()
        }
        var refused = 0
        for _ in 0..<60 {
            let run = try await runCLI(["run", "--no-freeze", "--no-snapshot", "--json"], env: tree.environment)
            if let report = try? JSONDecoder().decode(RunReport.self, from: Data(run.stdout.utf8)),
                report.plugins.first?.pre?.status == .failed
            {
                refused += 1
            }
        }
        #expect(processAlive(pid), "the swapper died early: the race was not exercised")
        #expect(!FileManager.default.fileExists(atPath: marker), "the user's script ran as root")
        #expect(refused == 60, "every run must refuse the path; refused \(refused) of 60")
    }

    @Test func packageLeftoversAndHiddenDropInsAreSkippedAndListed() async throws {
        let tree = TestTree("dropin")
        defer { tree.cleanup() }
        let log = tree.path("ran.log")
        let leftovers = [
            "a~", "b.bak", "c.orig", "d.rpmnew", "e.rpmorig", "f.rpmsave", "g.sample", "h.dpkg-old", "i.dpkg-new",
            "j.dpkg-tmp", "k.dpkg-dist", "l.dpkg-bak", "m.dpkg-backup", "n.dpkg-remove", ".hidden",
        ]
        for name in leftovers + ["10-good"] {
            tree.script("etc/azure/prepost/scripts.d/\(name)", "echo \(name) >> \(log)")
        }
        tree.write(
            TestConfig(options: ["scripts_dir": "/etc/azure/prepost/scripts.d"], plugins: []),
            at: TestConfig.defaultPath)
        let validate = try await runCLI(["validate", "--json"], env: tree.environment)
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(validate.stdout.utf8))
        #expect(report.plugins == ["10-good"], "\(report.plugins)")
        let skipped = Dictionary(
            uniqueKeysWithValues: report.skippedDropIns.map { (($0.path as NSString).lastPathComponent, $0.reason) })
        for name in leftovers {
            #expect(skipped[name] != nil, "\(name) is not listed as skipped")
        }
        #expect(skipped[".hidden"] == "hidden file")
        #expect(skipped["g.sample"]?.contains(".sample") == true)
        let text = try await runCLI(["validate"], env: tree.environment)
        #expect(text.stderr.contains("drop-in skipped: package-manager or editor leftover (.sample)"))
        let run = try await runCLI(["run", "--no-freeze", "--no-snapshot"], env: tree.environment)
        #expect(run.code == 0, "\(run.stderr)")
        #expect(tree.read("ran.log") == "10-good\n10-good\n")
    }

    @Test(arguments: ["owner", "mode"])
    func aUserWritableVmbackupConfDoesNotTurnTheFreezeOff(_ how: String) async throws {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        let conf = tree.write("etc/azure/vmbackup.conf", "[SnapshotThread]\nfsfreeze = False\n", mode: 0o644)
        if how == "owner" { chown(conf, Self.nobody, Self.nobody) } else { chmod(conf, 0o666) }
        let validate = try await runCLI(["validate", "--json"], env: tree.environment)
        #expect(validate.code == 1, "\(validate.stdout)")
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(validate.stdout.utf8))
        #expect(
            report.diagnostics.contains {
                $0.severity == .error && $0.file == conf
                    && $0.message.contains(how == "owner" ? "owned by uid 65534" : "mode 666")
            }, "\(report.diagnostics.map(\.message))")
        // Its settings are not applied: the freeze stays on.
        #expect(!report.diagnostics.contains { $0.message.contains("filesystems are not frozen") })
        let plan = try await runCLI(["run", "--dry-run"], env: tree.environment)
        #expect(!plan.stdout.contains("freeze: off") && !plan.stdout.contains("not frozen"), "\(plan.stdout)")
    }

    @Test func aUserOwnedWorkloadConfIsNotObeyed() async throws {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        let conf = tree.write(
            "etc/azure/workload.conf", "[workload]\nworkload_name = postgres\nlinux_user = postgres\n", mode: 0o644)
        chown(conf, Self.nobody, Self.nobody)
        let validate = try await runCLI(["validate", "--json"], env: tree.environment)
        #expect(validate.code == 1)
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(validate.stdout.utf8))
        #expect(
            report.diagnostics.contains {
                $0.severity == .error && $0.file == conf && $0.message.contains("owned by uid 65534")
            }, "\(report.diagnostics.map(\.message))")
        #expect(report.plugins.isEmpty, "\(report.plugins)")
    }
}
