import Foundation
import SnapCore
import SnapSystem

/// `snaporch run`: load, plan, then a locked `RunSession`; summary and exit code.
struct RunCommand {
    let console: Console
    let paths: Paths

    static let spec = Commands.run.spec

    func run(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Self.spec.parse(argv)
        var settings: BackupParameters?
        if let path = args.value("--settings") { settings = try SettingsOption.load(path) }
        let (loaded, diagnostics) = ConfigSource(paths: paths).load(explicit: args.value("--config"))
        for diagnostic in diagnostics where diagnostic.severity != .note { console.err(diagnostic.rendered + "\n") }
        guard let config = loaded else { return ExitCode.usage }
        var options = RunOptions()
        options.dryRun = args.has("--dry-run")
        options.freeze = !args.has("--no-freeze")
        options.snapshot = !args.has("--no-snapshot")
        options.mounts = args.options["--mount"] ?? []
        do throws(UsageError) {
            for value in args.options["--disk"] ?? [] { options.disks += try Self.expand(value).map(SASURI.init) }
        } catch {
            console.err("snaporch run: \(error.message)\n")
            return ExitCode.usage
        }
        let runId = RunIdentity.newRunId()
        options.taskId = args.value("--task-id") ?? settings.map(\.taskId).flatMap { $0.isEmpty ? nil : $0 } ?? runId
        let session = RunSession(
            paths: paths, executable: RunIdentity.selfExecutable, environment: ProcessInfo.processInfo.environment,
            request: settings?.handlerRequest
        ).recordingSplitRecoveries()
        let plan = session.plan(config, options: options)
        if options.dryRun {
            console.out(PlanRenderer.render(plan))
            return ExitCode.ok
        }
        var statusTarget: SASURI?
        do throws(UsageError) {
            if let value = args.value("--status-blob") { statusTarget = try Self.expand(value).first.map(SASURI.init) }
        } catch {
            console.err("snaporch run: \(error.message)\n")
            return ExitCode.usage
        }
        let statusBlob = statusTarget ?? settings?.statusBlobUri
        let result: RunSession.Result
        do throws(RunLockError) {
            result = try await session.execute(
                plan, runId: runId, extraReportPath: args.value("--report"),
                beforeStore: { report in await Self.uploadStatus(&report, to: statusBlob) })
        } catch {
            console.err("snaporch run: \(error.message)\n")
            let files = SplitFiles(paths: paths)
            if let state = files.load(SplitState.self, from: files.state), state.holderAlive {
                console.err("snaporch run: the lock is held by a \(state.summary); `snaporch end` finishes it\n")
            }
            return ExitCode.failed
        }
        if let note = result.recoveryNote { console.err("snaporch: \(note)\n") }
        for problem in result.storeProblems { console.err("snaporch: error: \(problem)\n") }
        let report = result.report
        console.err(Summary(color: console.colorOnStderr).render(report))
        if args.has("--json") { console.out(JSONOutput.encode(report) + "\n") }
        return RunExit.code(report, snapshots: plan.snapshots, storeProblems: result.storeProblems)
    }

    /// `@FILE` reads SAS URIs from a root-owned 0600 file, one per line, so that no SAS appears in
    /// any process's argument list; anything else is taken as it is.
    static func expand(_ value: String) throws(UsageError) -> [String] {
        guard value.hasPrefix("@") else { return [value] }
        let path = String(value.dropFirst())
        if let problem = DatabaseStep.credentialProblem(path) { throw UsageError("\(path): \(problem)") }
        switch ConfigLoader.readFile(path, limit: 1 << 20) {
        case .failure(let error): throw UsageError("\(path): \(error.message)")
        case .success(let bytes):
            return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map {
                String($0).trimmingSpaces
            }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
    }

    /// Uploads the report to `--status-blob`, recording a failure in the report itself.
    static func uploadStatus(_ report: inout RunReport, to target: SASURI?) async {
        guard let target else { return }
        guard let uri = BlobURI(target) else {
            report.errors.append(ErrorEntry(.generic, "status blob: not a blob URI: \(target)"))
            return
        }
        let body = Data(JSONOutput.encode(report).utf8)
        if let error = await BlobWriter(client: CurlHTTPClient()).write(body, to: uri) {
            report.errors.append(ErrorEntry(.generic, "status blob: \(error)"))
        }
    }
}
