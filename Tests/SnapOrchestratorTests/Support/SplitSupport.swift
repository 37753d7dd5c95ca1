import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

extension RunFixture {
    /// `snaporch begin --config CONFIG ARGS --json`.
    func begin(_ config: String, _ args: [String] = [], env: [String: String] = [:], timeout: Int = 60)
        async throws -> CLIResult
    {
        try await snaporch(["begin", "--config", config, "--json"] + args, env: env, timeout: timeout)
    }

    /// `snaporch end ARGS`.
    func end(_ args: [String] = [], timeout: Int = 120) async throws -> CLIResult {
        try await snaporch(["end"] + args, timeout: timeout)
    }

    /// The split state files of the tree.
    var splitFiles: SplitFiles { SplitFiles(paths: Paths(root: tree.root)) }

    /// The reports of the tree's history with run id `runId`.
    func history(of runId: String) -> [RunReport] {
        RunHistory(paths: Paths(root: tree.root)).load().filter { $0.runId == runId }
    }
}

extension CLIResult {
    /// The quiesce `begin --json` printed; a failure names the exit code and stderr.
    func quiesced() throws -> QuiescedReport {
        do {
            return try JSONDecoder().decode(QuiescedReport.self, from: Data(stdout.utf8))
        } catch {
            throw TestFailure("no quiesce on stdout (exit \(code)): \(error)\nstderr: \(stderr.suffix(2000))")
        }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`; true when it held.
func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Starts a write to `mount` in the background (`touch`, detached from every pipe) and returns the
/// flag file (in `flags`, outside the mount) that appears once the write went through: on a frozen
/// filesystem the write waits in the kernel until the thaw, and nothing can stop it before.
func startWriteProbe(_ mount: String, flags: String) async throws -> String {
    let flag = flags + "/probe-\(UInt32.random(in: 0...UInt32.max))"
    let probe = "touch \(ShellQuote.quote(mount))/.probe && touch \(ShellQuote.quote(flag))"
    _ = try await sh("(\(probe)) </dev/null >/dev/null 2>&1 &")
    return flag
}

/// True when a write to `mount` does not go through within 0.3 s (the filesystem is frozen).
func writeBlocks(_ mount: String, flags: String) async throws -> Bool {
    let flag = try await startWriteProbe(mount, flags: flags)
    try await Task.sleep(for: .milliseconds(300))
    return !FileManager.default.fileExists(atPath: flag)
}
