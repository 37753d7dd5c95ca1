import Foundation
import Glibc

/// `snaporch run`: load, plan, lock, recover, execute, report.
struct RunCommand {
    let console: Console
    let paths: Paths

    static let spec = CommandSpec(
        flags: ["--dry-run", "--no-freeze", "--no-snapshot", "--json"],
        options: ["--config", "--mount", "--disk", "--settings", "--report", "--task-id", "--status-blob"])

    func run(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Self.spec.parse(argv)
        if args.value("--settings") != nil {
            console.err("snaporch run: --settings (Azure handler settings) is not available in this build yet\n")
            return ExitCode.usage
        }
        let path = args.value("--config") ?? paths.defaultConfig
        let (loaded, diagnostics) = ConfigLoader(paths: paths).load(path)
        for diagnostic in diagnostics { console.err(diagnostic.rendered + "\n") }
        guard let config = loaded else { return ExitCode.usage }
        let unsafe = PathSecurity().problems(for: path)
        if !unsafe.isEmpty {
            for problem in unsafe { console.err("\(path): error: unsafe config: \(problem)\n") }
            return ExitCode.usage
        }
        var options = RunOptions()
        options.dryRun = args.has("--dry-run")
        options.freeze = !args.has("--no-freeze")
        options.snapshot = !args.has("--no-snapshot")
        options.mounts = args.options["--mount"] ?? []
        options.disks = args.options["--disk"] ?? []
        let runId = Self.newRunId()
        options.taskId = args.value("--task-id") ?? runId
        let environment = ProcessInfo.processInfo.environment
        let plan = Planner(environment: environment).plan(config, options: options)
        if options.dryRun {
            console.out(PlanRenderer.render(plan))
            return ExitCode.ok
        }

        let lock: RunLock
        do {
            lock = try RunLock.acquire(directory: paths.runDir)
        } catch {
            console.err("snaporch run: \(error.message)\n")
            return ExitCode.failed
        }
        defer { withExtendedLifetime(lock) {} }
        let launcher = PosixProcessLauncher()
        let journal = RunJournal(directory: paths.runDir)
        var recovered: [RecoveredStep] = []
        if let leftover = journal.leftover() {
            console.err(
                "snaporch: an earlier run (\(leftover.runId), pid \(leftover.pid)) was interrupted; finishing its duties first\n"
            )
            let result = await Recovery(launcher: launcher, killGrace: config.killGrace).recover(leftover)
            recovered = result.steps
            journal.finish()
        }
        let orchestrator = Orchestrator(
            launcher: launcher,
            freezer: GuardedFreezer(executable: Self.selfExecutable(), expediteRCU: config.freeze.expediteRCU),
            makeProvider: { plan in Self.provider(for: plan, launcher: launcher, environment: environment) },
            journal: journal)
        var report = await orchestrator.execute(plan, runId: runId)
        report.recovered = recovered
        if let target = args.value("--status-blob") {
            if let uri = BlobURI(target) {
                let body = Data(JSONOutput.encode(report).utf8)
                if let error = await BlobWriter(client: URLSessionHTTPClient(idleTimeout: 10)).write(body, to: uri) {
                    report.errors.append(ErrorEntry(.generic, "status blob: \(error)"))
                }
            } else {
                report.errors.append(ErrorEntry(.generic, "status blob: not a blob URI: \(Redactor.redactURI(target))"))
            }
        }
        for problem in ReportStore(paths: paths).save(report, extra: args.value("--report")) {
            console.err("snaporch: \(problem)\n")
        }
        console.err(Summary(color: console.colorOnStderr).render(report))
        if args.has("--json") { console.out(JSONOutput.encode(report) + "\n") }
        switch report.outcome {
        case .success: return ExitCode.ok
        case .degraded: return report.snapshot.taken || !plan.snapshots ? ExitCode.degraded : ExitCode.failed
        case .failed: return ExitCode.failed
        }
    }

    /// The snapshot provider of a plan, or nil when this build does not have it.
    static func provider(for plan: Plan, launcher: any ProcessLauncher, environment: [String: String]) -> (
        any SnapshotProvider
    )? {
        let settings = plan.config.snapshot
        let client = URLSessionHTTPClient(
            idleTimeout: settings.timeout.seconds, connectionsPerHost: max(8, plan.disks.count))
        let guest =
            plan.disks.isEmpty && settings.method != nil
            ? nil : BlobSnapshotProvider(disks: plan.disks, timeout: settings.timeout, client: client)
        let host = HostSnapshotProvider(
            endpoint: HostSnapshotProvider.endpoint(environment: environment),
            request: HostSnapshotRequest(taskId: plan.options.taskId ?? ""), timeout: settings.timeout, client: client)
        switch settings.provider {
        case .command:
            return CommandSnapshotProvider(
                argv: settings.command, timeout: settings.timeout, launcher: launcher,
                environment: [
                    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                ])
        case .blob, .host:
            let method = settings.method ?? (settings.provider == .blob ? .onlyGuest : .onlyHost)
            return MethodSnapshotProvider(method: method, guest: guest, host: host)
        case .none:
            return nil
        }
    }

    /// The running binary (the guard is started from it).
    static func selfExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0
            ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }

    /// A sortable, unique run id: `20261126T150102Z-1a2b3c`.
    static func newRunId() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: Date()) + "-" + String(UInt32.random(in: 0...0xFFFFFF), radix: 16)
    }
}
