import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A private directory tree for one test (a fake `SNAPORCH_ROOT`), removed on `cleanup()`.
final class TestTree: @unchecked Sendable {
    let root: String

    init(_ label: String = "t") {
        var template = Array("/tmp/snaporch-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        root = String(cString: made!)
        chmod(root, 0o755)
    }

    /// Absolute path of `relative` inside the tree.
    func path(_ relative: String) -> String { root + "/" + relative }

    /// Writes a file (parents created 0755), with `mode`.
    @discardableResult
    func write(_ relative: String, _ text: String, mode: mode_t = 0o644) -> String {
        let full = path(relative)
        try! FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8))
        chmod(full, mode)
        return full
    }

    /// Writes an executable shell script.
    @discardableResult
    func script(_ relative: String, _ body: String) -> String {
        write(relative, "#!/bin/sh\n" + body + "\n", mode: 0o755)
    }

    /// The environment for running `snaporch` on this tree.
    var environment: [String: String] {
        ["SNAPORCH_ROOT": root, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]
    }

    /// Removes the tree, after ending every process still working in it (a detached handler daemon,
    /// a script's orphaned children): they would otherwise re-create files after the removal.
    func cleanup() {
        killProcesses(mentioning: root)
        try? FileManager.default.removeItem(atPath: root)
    }

    func read(_ relative: String) -> String? {
        try? String(contentsOfFile: path(relative), encoding: .utf8)
    }
}

/// Facts about where the tests run.
enum TestEnv {
    static let isRoot = geteuid() == 0
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let hasLoop = FileManager.default.fileExists(atPath: "/dev/loop-control")
    /// Root-only tests run when root with loop devices, and always under CI=true (where they fail if they cannot run).
    static let rootTests = (isRoot && hasLoop) || isCI
    static let rootReason: Comment =
        "needs root and loop devices (run as root, or set CI=true to turn this skip into a failure)"

    /// The `snaporch` binary built next to the test bundle (`SNAPORCH_TEST_BINARY` overrides it, to
    /// watch a regression test fail against an older build).
    static var snaporch: String {
        if let binary = ProcessInfo.processInfo.environment["SNAPORCH_TEST_BINARY"], !binary.isEmpty { return binary }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = (exe as NSString).deletingLastPathComponent
        if dir.hasSuffix(".xctest/Contents/MacOS") {
            dir = ((dir as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        }
        return dir + "/snaporch"
    }
}

/// Runs the `snaporch` binary the way an admin would.
struct CLIResult {
    var status: TerminationStatus
    var stdout: String
    var stderr: String
    var code: Int32 { if case .exited(let c) = status { return c } else { return -1 } }
}

func runCLI(
    _ args: [String], env: [String: String] = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: Int = 60,
    cwd: String = "/"
) async throws -> CLIResult {
    var spec = ProcessSpec(executable: TestEnv.snaporch, arguments: args, environment: env, timeout: .seconds(timeout))
    spec.workingDirectory = cwd
    spec.tailLimit = 4 << 20
    let outcome = try await PosixProcessLauncher().run(spec)
    return CLIResult(
        status: outcome.status, stdout: String(decoding: outcome.stdoutTail, as: UTF8.self),
        stderr: String(decoding: outcome.stderrTail, as: UTF8.self))
}

/// Runs a command line synchronously (test set-up: mkfs, mount), returning its exit code and output.
@discardableResult
func sh(_ command: String, timeout: Int = 60) async throws -> (code: Int32, output: String) {
    var spec = ProcessSpec(
        executable: "/bin/sh", arguments: ["-c", command + " 2>&1"],
        environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: .seconds(timeout))
    spec.tailLimit = 1 << 20
    let outcome = try await PosixProcessLauncher().run(spec)
    let code: Int32 = if case .exited(let c) = outcome.status { c } else { -1 }
    return (code, String(decoding: outcome.stdoutTail, as: UTF8.self))
}

/// True when process `pid` exists (zombies of other parents count as gone).
func processAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = ProcFile.text("/proc/\(pid)/stat") ?? ""
    guard let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Waits (up to `timeout` seconds) until `path` holds a pid on its first line.
func waitForPid(in path: String, timeout: Double = 20) async throws -> Int32 {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) })
        {
            return pid
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("no pid appeared in \(path) within \(timeout) s")
}

/// The filesystem root as a path string (a fs-root field, a cwd): never a mount any test freezes.
let systemRoot = "/"

/// SIGKILLs every process (but this one) whose command line, environment or working directory
/// names `path`, and waits up to 3 s for them to be gone.
func killProcesses(mentioning path: String) {
    let needle = Data(path.utf8)
    var victims: [Int32] = []
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(name), pid != getpid() else { continue }
        let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(name)/cwd")) ?? ""
        let hit =
            cwd.hasPrefix(path)
            || ["cmdline", "environ"].contains { file in
                FileManager.default.contents(atPath: "/proc/\(name)/\(file)")?.range(of: needle) != nil
            }
        if hit && processAlive(pid) { victims.append(pid) }
    }
    for pid in victims { kill(pid, SIGKILL) }
    let end = Date().addingTimeInterval(3)
    while victims.contains(where: processAlive) && Date() < end { usleep(10_000) }
}

/// Whether the run lock of `tree` can be taken at once (taken and released again).
func runLockIsFree(_ tree: TestTree) -> Bool {
    let fd = open(Paths(root: tree.root).runDir + "/lock", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return true }
    defer { close(fd) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
    flock(fd, LOCK_UN)
    return true
}
