import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A test tree seen as one machine: configs written into it, and the built `snaporch` run on it
/// the way an admin would (`run`, `validate`, `recover`, `report`), through `runCLI`.
///
/// Safety: the only mounts a run may freeze are the loop mounts given as `freezing`
/// (`SNAPORCH_FREEZE_ALLOW`); with none, a run that tries to freeze anything is refused.
struct RunFixture: Sendable {
    let tree: TestTree
    /// Mount points the runs may freeze: loop mounts the test made.
    let freezable: [String]

    /// A fixture on `tree` whose runs may freeze exactly `mounts`.
    init(_ tree: TestTree, freezing mounts: [LoopMount] = []) {
        self.tree = tree
        self.freezable = mounts.map(\.mountPoint)
    }

    /// The tree's environment, with the freezable mounts when there are any.
    var environment: [String: String] {
        var env = tree.environment
        if !freezable.isEmpty { env["SNAPORCH_FREEZE_ALLOW"] = freezable.joined(separator: ":") }
        return env
    }

    /// Writes `config` at `relative` in the tree and returns its absolute path.
    @discardableResult
    func write(_ config: TestConfig, at relative: String = "c.yaml") -> String { tree.write(config, at: relative) }

    /// Runs `snaporch ARGS` with the fixture's environment plus `env` (fault points, endpoints).
    func snaporch(
        _ args: [String], env: [String: String] = [:], timeout: Int = 60, cwd: String = "/"
    ) async throws -> CLIResult {
        try await runCLI(args, env: environment.merging(env) { $1 }, timeout: timeout, cwd: cwd)
    }

    /// `snaporch run [--config CONFIG] ARGS` (decode `--json` output with `CLIResult.report()`).
    func run(
        _ config: String?, _ args: [String] = [], env: [String: String] = [:], timeout: Int = 60
    ) async throws -> CLIResult {
        try await snaporch(["run"] + (config.map { ["--config", $0] } ?? []) + args, env: env, timeout: timeout)
    }

    /// `snaporch validate --config CONFIG ARGS`.
    func validate(_ config: String, _ args: [String] = [], timeout: Int = 60) async throws -> CLIResult {
        try await snaporch(["validate", "--config", config] + args, timeout: timeout)
    }

    /// `snaporch recover [--config CONFIG]`.
    func recover(_ config: String? = nil, env: [String: String] = [:]) async throws -> CLIResult {
        try await snaporch(["recover"] + (config.map { ["--config", $0] } ?? []), env: env)
    }

    /// `snaporch report ARGS`.
    func report(_ args: [String] = []) async throws -> CLIResult { try await snaporch(["report"] + args) }

    /// The report the last run stored (`var/lib/snaporch/last-report.json`), or at `path`.
    func storedReport(_ path: String? = nil) throws -> RunReport {
        try ReportStore(paths: Paths(root: tree.root)).load(path ?? tree.path("var/lib/snaporch/last-report.json"))
    }
}

extension CLIResult {
    /// The run report printed by `--json`; a failure names the exit code and stderr.
    func report() throws -> RunReport {
        do {
            return try JSONDecoder().decode(RunReport.self, from: Data(stdout.utf8))
        } catch {
            throw TestFailure("no run report on stdout (exit \(code)): \(error)\nstderr: \(stderr.suffix(2000))")
        }
    }
}
