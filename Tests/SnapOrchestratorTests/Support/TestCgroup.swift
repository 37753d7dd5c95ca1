import Foundation
import Glibc

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A cgroup made by a test in some cgroup v1 hierarchies (e.g. `freezer`, `pids`, `blkio`), to run
/// `snaporch` inside it and then stop, throttle or kill everything in it at once.
///
/// `cleanup()` thaws the freezer group, kills every process still in it and removes the directories.
final class TestCgroup: @unchecked Sendable {
    /// The cgroup's directory in each hierarchy.
    let directories: [String]

    /// Creates `/sys/fs/cgroup/<hierarchy>/snaporch-test-<random>` in each hierarchy.
    init(_ hierarchies: [String]) throws {
        let name = "snaporch-test-\(UInt32.random(in: 0...UInt32.max))"
        var made: [String] = []
        for h in hierarchies {
            let dir = "/sys/fs/cgroup/\(h)/\(name)"
            guard mkdir(dir, 0o755) == 0 else {
                for d in made { rmdir(d) }
                throw TestFailure("cannot create \(dir): \(String(cString: strerror(errno)))")
            }
            made.append(dir)
        }
        directories = made
    }

    /// The directory of this cgroup in `hierarchy`.
    func dir(_ hierarchy: String) -> String { directories.first { $0.contains("/\(hierarchy)/") }! }

    /// Writes `value` to a control file of the group.
    func set(_ hierarchy: String, _ file: String, _ value: String) throws {
        let path = dir(hierarchy) + "/" + file
        do {
            try value.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw TestFailure("cannot write '\(value)' to \(path): \(error)")
        }
    }

    /// The processes in the group (union over its hierarchies).
    func pids() -> [Int32] {
        var all = Set<Int32>()
        for d in directories {
            let text = (try? String(contentsOfFile: d + "/cgroup.procs", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let p = Int32(line) { all.insert(p) } }
        }
        return all.sorted()
    }

    /// A shell prefix that moves itself into the group and then execs its arguments.
    var enterAndExec: String {
        directories.map { "echo $$ > \($0)/cgroup.procs && " }.joined() + "exec \"$@\""
    }

    /// Stops every process of the group at once (freezer `FROZEN`), waiting until they are.
    func freezeAll() async throws {
        try set("freezer", "freezer.state", "FROZEN")
        for _ in 0..<500 {
            let state = (try? String(contentsOfFile: dir("freezer") + "/freezer.state", encoding: .utf8)) ?? ""
            if state.hasPrefix("FROZEN") { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the freezer cgroup did not reach FROZEN")
    }

    /// SIGKILL to every process of the group (as a cgroup-wide kill does).
    func killAll() {
        for pid in pids() { kill(pid, SIGKILL) }
    }

    /// Lets the group run again (freezer `THAWED`).
    func thawAll() { try? set("freezer", "freezer.state", "THAWED") }

    /// Thaws, kills what is left, waits (bounded) until the group is empty, removes it.
    func cleanup() async {
        if directories.contains(where: { $0.contains("/freezer/") }) { thawAll() }
        for _ in 0..<300 {
            killAll()
            if pids().isEmpty { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        for d in directories.reversed() { rmdir(d) }
    }
}

/// Runs `snaporch args` inside `cgroup` (moved there before exec).
func runCLI(in cgroup: TestCgroup, _ args: [String], env: [String: String], timeout: Int = 60) async throws
    -> CLIResult
{
    var spec = ProcessSpec(
        executable: "/bin/sh", arguments: ["-c", cgroup.enterAndExec, "sh", TestEnv.snaporch] + args, environment: env,
        timeout: .seconds(timeout))
    spec.tailLimit = 4 << 20
    let outcome = try await PosixProcessLauncher().run(spec)
    return CLIResult(
        status: outcome.status, stdout: String(decoding: outcome.stdoutTail, as: UTF8.self),
        stderr: String(decoding: outcome.stderrTail, as: UTF8.self))
}
