import Foundation
import SnapCore
import SnapSystem

/// What `snaporch begin` (or a platform hook calling it in-process) asks.
package struct BeginRequest: Sendable, Hashable {
    /// `--config`: the config file (nil: the default one).
    package var config: String?
    /// `--freeze`: snaporch freezes (the platform does not); with `mounts`, exactly those.
    package var freeze = false
    /// `--mount`: freeze exactly these mount points.
    package var mounts: [String] = []
    /// `--lease`: how long the holder waits for `end` (nil: `split.lease` of the config, 60 s).
    package var lease: TimeSpan?
    /// `--caller`: who calls (`qemu-ga`, `vmware`, `gce`, `aws`; `cli` by default), recorded in the report.
    package var caller = "cli"
    /// `--platform-freezes`: the platform freezes the filesystems itself around its snapshot
    /// (qemu-ga, VMware Tools): a snapshot `end` reports taken counts as frozen.
    package var platformFreezes = false
    /// `--task-id`: the backup task id (default: the run id).
    package var taskId: String?
    /// `--report`: write the final run report there too (when the run ends).
    package var report: String?
    /// `--json`: print the result as JSON on stdout.
    package var json = false
    /// What a platform hook's adapter decided and why (the report's `split.callerNotes`).
    package var notes: [String] = []

    /// A request with the defaults (`--caller cli`, no freeze, the config's lease).
    package init() {}
}

/// What `snaporch end` (or a platform hook) asks.
package struct EndRequest: Sendable, Hashable {
    /// `--snapshot-failed REASON`: the platform's snapshot failed (posts learn `no-snapshot`).
    package var snapshotFailed: String?
    /// `--caller`: who calls.
    package var caller: String?
    /// `--report`: write the final run report there.
    package var report: String?
    /// `--json`: print the final run report as JSON on stdout (like `run --json`).
    package var json = false
    /// A platform that retries a failed call: with nothing in progress, the caller's last split
    /// run ended within this span gives its result again (`SplitEnder.end`).
    package var repeatWithin: TimeSpan?

    /// A request with the defaults.
    package init() {}
}

/// Split-phase runs for the CLI and the platform hooks: `begin` quiesces and returns, `end`
/// finishes and returns the run's outcome, both with `run`'s exit codes (0, 3, 1, 2).
///
/// Stable surface (the hooks call it in-process): `SplitRun.begin(_:)`, `SplitRun.end(_:)`.
package struct SplitRun: Sendable {
    let console: Console
    let paths: Paths
    let environment: [String: String]

    /// Creates the entry points for this process's console and environment.
    package init(
        console: Console = Console(), paths: Paths = Paths(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.console = console
        self.paths = paths
        self.environment = environment
    }

    /// `snaporch begin`: 0 quiesced, 3 quiesced but degraded, 1 failed (nothing held), 2 usage or
    /// config error; a refused begin (another run or split run in progress) is 1.
    package static func begin(_ request: BeginRequest) async -> Int32 { await SplitRun().begin(request) }

    /// `snaporch end`: the run's exit code (0, 3, 1); 0 for the no-op when no split run is in progress.
    package static func end(_ request: EndRequest) async -> Int32 { await SplitRun().end(request) }

    /// `begin` with this instance's console and paths.
    package func begin(_ request: BeginRequest) async -> Int32 {
        let (loaded, diagnostics) = ConfigSource(paths: paths).load(explicit: request.config)
        for diagnostic in diagnostics where diagnostic.severity != .note { console.err(diagnostic.rendered + "\n") }
        guard let config = loaded else { return ExitCode.usage }
        let lease = request.lease ?? config.split.lease
        guard SplitSettings.leaseRange.contains(lease) else {
            console.err(
                "snaporch begin: --lease \(lease) is out of range (\(SplitSettings.leaseRange.lowerBound) … "
                    + "\(SplitSettings.leaseRange.upperBound))\n")
            return ExitCode.usage
        }
        var holder = HolderRequest(
            runId: RunIdentity.newRunId(), config: request.config.map(absolute), lease: lease, caller: request.caller,
            freeze: request.freeze, mounts: request.mounts, platformFreezes: request.platformFreezes)
        holder.taskId = request.taskId
        holder.report = request.report.map(absolute)
        holder.notes = request.notes
        let plan = RunSession(paths: paths, executable: RunIdentity.selfExecutable, environment: environment)
            .plan(config, options: holder.options)
        let outcome = await SplitBeginner(paths: paths, environment: environment)
            .begin(holder, budget: SplitBudget(plan))
        return SplitOutput(console: console).begin(outcome, json: request.json)
    }

    /// `end` with this instance's console and paths.
    package func end(_ request: EndRequest) async -> Int32 {
        let outcome = await SplitEnder(paths: paths).end(
            snapshotFailed: request.snapshotFailed, caller: request.caller, repeatWithin: request.repeatWithin)
        return SplitOutput(console: console).end(outcome, json: request.json, reportPath: request.report)
    }

    /// `path` made absolute (the holder runs in `/`).
    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
