import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// VMware Tools, Google and AWS hooks invoked the way those agents invoke them (issue 17), with a
/// real MariaDB whose datadir is on a loop mount: the installed wrapper (VMware: through `bash -c`
/// with the op; Google: `pre.sh DISKS` / `post.sh DISKS`; AWS: the SSM document's shell body with
/// `{{ command }}` set), including freezeFail and a second call that never comes (the lease).
/// (Part of the serialized database suite: one private server set at a time.)
extension DatabasePluginTests {
    /// The newest report of the history.
    func newestReport(_ machine: HookMachine) throws -> RunReport {
        try #require(machine.history.max { $0.runId < $1.runId })
    }

    /// Waits until the split run in progress (if any) has ended on its own.
    func waitForLeaseEnd(_ machine: HookMachine) async -> Bool {
        let state = machine.fixture.splitFiles.state
        return await eventually(within: 40) { !FileManager.default.fileExists(atPath: state) }
    }

    @Test func vmwareFreezeThawFreezeFailAndAMissingThaw() async throws {
        try await HookMachine.with(freezing: false, lease: "12s") { machine in
            let script = try #require(try await machine.install("vmware").first)
            let mount = machine.mount.mountPoint
            // vmtoolsd: `bash -c '"<path>" freeze'`, FIFREEZE, snapshot, FITHAW, `… thaw`.
            let vmtoolsd = { (op: String) in try await machine.invoke("/bin/bash", ["-c", "\"\(script)\" \(op)"]) }
            let freeze = try await vmtoolsd("freeze")
            #expect(freeze.code == 0, "\(freeze.output)")
            #expect(!(try await machine.canWrite("under-vmware-lock")), "the database lock is not held")
            #expect(try await sh("fsfreeze -f \(ShellQuote.quote(mount))").code == 0)
            #expect(await machine.mountIsFrozen)
            #expect(try await sh("fsfreeze -u \(ShellQuote.quote(mount))").code == 0)
            let thaw = try await vmtoolsd("thaw")
            #expect(thaw.code == 0, "\(thaw.output)")
            #expect(try await machine.canWrite("after-vmware-thaw"))
            #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed", "post:b:thawed", "post:a:thawed"])
            let ok = try newestReport(machine)
            #expect(ok.split?.caller == "vmware" && ok.split?.ending == .end && ok.outcome == .success)
            #expect(ok.consistency == .application, "\(ok.reasons)")

            // A later script (or the freeze) failed: vmtoolsd sends freezeFail to the earlier ones.
            #expect(try await vmtoolsd("freeze").code == 0)
            let failed = try await vmtoolsd("freezeFail")
            #expect(failed.code == 1, "a run without a snapshot is a failed run: \(failed.output)")
            #expect(try await machine.canWrite("after-freezeFail"))
            let noSnapshot = try newestReport(machine)
            #expect(noSnapshot.runId != ok.runId && noSnapshot.split?.ending == .snapshotFailed)
            #expect(!noSnapshot.snapshot.taken && noSnapshot.outcome == .failed)
            #expect(
                machine.outcomes == ["b:snapshot-taken", "a:snapshot-taken", "b:no-snapshot", "a:no-snapshot"],
                "freezeFail: the posts must learn that there is no snapshot")

            // The thaw never comes (vmtoolsd died): the lease releases the lock and runs the posts.
            #expect(try await vmtoolsd("freeze").code == 0)
            #expect(await waitForLeaseEnd(machine))
            #expect(try await machine.canWrite("after-vmware-lease"))
            #expect(machine.lines.suffix(2) == ["post:b:thawed", "post:a:thawed"])
            // vmtoolsd may have the guest frozen when the lease ends: the report waits in /run for
            // the late thaw (or the next end) to store it.
            let late = try await vmtoolsd("thaw")
            #expect(late.code == 1 && late.output.contains("lease expired"), "\(late.output)")
            let lapsed = try newestReport(machine)
            #expect(lapsed.split?.ending == .leaseExpired && lapsed.reasons.contains { $0.contains("lease expired") })
            #expect(machine.history.count == 3)
        }
    }

    @Test func googlePreFreezesTheMountsOnTheListedDisksAndPostThaws() async throws {
        try await HookMachine.with(freezing: true, lease: "12s") { machine in
            let scripts = try await machine.install("gce")
            let pre = try #require(scripts.first { $0.hasSuffix("/pre.sh") })
            let post = try #require(scripts.first { $0.hasSuffix("/post.sh") })
            let mount = machine.mount.mountPoint
            // The disk `data` is the loop device under the mount (Google's by-id link, in the tree).
            let device = try await sh("findmnt -no SOURCE \(ShellQuote.quote(mount))").output
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(device.hasPrefix("/dev/loop"), "\(device)")
            let byId = machine.tree.path("dev/disk/by-id")
            try FileManager.default.createDirectory(atPath: byId, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: byId + "/google-data", withDestinationPath: device)

            let begin = try await machine.invoke(pre, ["data"])
            #expect(begin.code == 0, "\(begin.output)")
            #expect(begin.output.contains("disks 'data' hold \(mount)"), "\(begin.output)")
            #expect(await machine.mountIsFrozen, "snaporch froze the mount of the listed disk")
            let end = try await machine.invoke(post, ["data"])
            #expect(end.code == 0, "\(end.output)")
            #expect(!(await machine.mountIsFrozen))
            #expect(try await machine.canWrite("after-gce-post"))
            let ok = try newestReport(machine)
            #expect(ok.split?.caller == "gce" && ok.outcome == .success && ok.consistency == .application)
            #expect(ok.freeze.mounts.map(\.mountPoint) == [mount] && ok.freeze.mounts.allSatisfy(\.thawed))
            #expect(ok.split?.callerNotes == ["disks 'data' hold \(mount)"], "\(String(describing: ok.split))")
            #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed", "post:b:thawed", "post:a:thawed"])

            // A disk that cannot be mapped: the configured selection, and the hook says so.
            let unmapped = try await machine.invoke(pre, ["data,nosuchdisk"])
            #expect(unmapped.code == 0, "\(unmapped.output)")
            #expect(unmapped.output.contains("freezing the configured selection"), "\(unmapped.output)")
            #expect(await machine.mountIsFrozen)
            // post.sh never comes: the lease thaws, releases and runs the posts.
            #expect(await waitForLeaseEnd(machine))
            #expect(!(await machine.mountIsFrozen))
            #expect(try await machine.canWrite("after-gce-lease"))
            let lapsed = try newestReport(machine)
            #expect(lapsed.runId != ok.runId && lapsed.split?.ending == .leaseExpired)
            #expect(
                lapsed.split?.callerNotes?.first?.contains("'nosuchdisk': no block device") == true,
                "the report does not say why the configured mounts were frozen")
            #expect(lapsed.freeze.mounts.map(\.mountPoint) == [mount] && lapsed.freeze.mounts.allSatisfy(\.thawed))
        }
    }

    @Test func theAWSDocumentBodyQuiescesFreezesAndResumes() async throws {
        try await HookMachine.with(freezing: true, lease: "12s") { machine in
            let document = try await runCLI(["hook", "install", "aws", "--config", machine.config])
            #expect(document.code == 0, "\(document.stderr)")
            // SSM's aws:runShellScript writes the runCommand lines to a script file and runs it.
            let ssm = { (command: String) in
                let body = try #require(AWSDocument.shellBody(of: document.stdout, command: command))
                let file = machine.tree.write("ssm/\(command)/_script.sh", body, mode: 0o700)
                return try await machine.invoke("/bin/sh", [file])
            }
            let dryRun = try await ssm("dry-run")
            #expect(dryRun.code == 0 && dryRun.output.contains(machine.mount.mountPoint), "\(dryRun.output)")
            #expect(machine.history.isEmpty && machine.lines.isEmpty, "dry-run ran something")

            let pre = try await ssm("pre-script")
            #expect(pre.code == 0, "\(pre.output)")
            #expect(await machine.mountIsFrozen)
            #expect(try await machine.pluginSessions() >= 1, "no database session holds the lock")
            let post = try await ssm("post-script")
            #expect(post.code == 0, "\(post.output)")
            #expect(try await machine.canWrite("after-aws-post"))
            let ok = try newestReport(machine)
            #expect(ok.split?.caller == "aws" && ok.outcome == .success && ok.consistency == .application)
            #expect(machine.lines == ["pre:a:thawed", "pre:b:thawed", "post:b:thawed", "post:a:thawed"])

            // The post-script never comes (the SSM command timed out): the lease.
            #expect(try await ssm("pre-script").code == 0)
            #expect(await waitForLeaseEnd(machine))
            #expect(!(await machine.mountIsFrozen))
            #expect(try await machine.canWrite("after-aws-lease"))
            #expect(try newestReport(machine).split?.ending == .leaseExpired)
            let late = try await ssm("post-script")
            #expect(late.code == 1 && late.output.contains("lease expired"), "\(late.output)")
            // DLM retries a failed post-script (MaximumRetryCount): the retry fails the same way
            // instead of succeeding as a no-op, which would mark the post-script as passed.
            let retried = try await ssm("post-script")
            #expect(retried.code == 1 && retried.output.contains("gets the same result"), "\(retried.output)")
            // Any other `end` with nothing in progress stays a no-op.
            let plain = try await machine.invoke(TestEnv.snaporch, ["end"])
            #expect(plain.code == 0 && plain.output.contains("no split run in progress"), "\(plain.output)")
        }
    }
}
