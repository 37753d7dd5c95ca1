import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapSystem

/// The holder's final answer (to `end`, or to a `begin` whose run ended before quiescing) comes
/// only once the holder has let go of the machine: the run lock is free and no split state is
/// left. qemu-ga's next freeze can come right after a thaw returned; a holder still holding the
/// lock then refused it as "a run is in progress".
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SplitHandoverTests {
    /// The holder stops itself (the `split-release` fault point) when its run is over and it has
    /// not yet let go; the caller must still be waiting then, and be answered once it goes on.
    /// `end`: the run's final report; `begin`: a run that ended before quiescing (a pre with
    /// `on_failure: abort` failed); `refused`: a holder that took the lock and then could not run
    /// (a directory where its control socket goes).
    @Test(arguments: ["end", "begin", "refused"])
    func theAnswerWaitsUntilTheHolderHasLetGo(_ answered: String) async throws {
        let tree = TestTree("handover")
        defer { tree.cleanup() }
        let fx = RunFixture(tree)
        let ok = tree.script("ok.sh", "exit 0")
        let pre = answered == "begin" ? tree.script("bad.sh", "exit 1") : ok
        let config = fx.write(
            TestConfig(freeze: .off, plugins: [.script("a", pre: pre, post: ok, ["on_failure": "abort"])]))
        let stopAt = ["SNAPORCH_FAULT_STOP_AT": "split-release"]
        if answered == "refused" {
            try FileManager.default.createDirectory(atPath: fx.splitFiles.socket, withIntermediateDirectories: true)
        }
        let caller: Task<CLIResult, any Error>
        let returned = Flag()
        if answered == "end" {
            _ = try await fx.begin(config, ["--lease", "60s"], env: stopAt).quiesced()
            caller = Task {
                defer { returned.set() }
                return try await fx.end(["--json"], timeout: 30)
            }
        } else {
            caller = Task {
                defer { returned.set() }
                return try await fx.begin(config, ["--lease", "60s"], env: stopAt, timeout: 30)
            }
        }
        let stopped = try await waitForStoppedSnaporch(root: tree.root, timeout: 10)
        defer { kill(stopped, SIGCONT) }
        try await Task.sleep(for: .seconds(1))
        #expect(!returned.value, "`\(answered)` returned while the holder still held the run lock")
        kill(stopped, SIGCONT)
        let result = try await caller.value
        // Right away: nothing of the run is left to refuse the next one.
        #expect(runLockIsFree(tree), "`\(answered)` returned before the holder released the run lock")
        #expect(!FileManager.default.fileExists(atPath: fx.splitFiles.state))
        if answered == "end" {
            #expect(result.code == 0, "\(result.stderr)")
            #expect(try result.report().split?.ending == .end)
            let next = try await fx.begin(config, ["--lease", "60s"])
            #expect(next.code == 0, "the next begin was refused: \(next.stderr)")
            _ = try await fx.end()
        } else if answered == "begin" {
            #expect(result.code != 0 && result.stdout.contains("\"outcome\""), "\(result.stderr)")
        } else {
            #expect(result.code == 1 && result.stderr.contains("control socket"), "\(result.stderr)")
        }
    }
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
