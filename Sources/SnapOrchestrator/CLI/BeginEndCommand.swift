import Foundation
import SnapCore
import SnapSystem

/// `snaporch begin` and `snaporch end`: their arguments, then `SplitRun`.
struct BeginEndCommand {
    let console: Console
    let paths: Paths

    func begin(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Commands.begin.spec.parse(argv)
        var request = BeginRequest()
        request.config = args.value("--config")
        request.freeze = args.has("--freeze")
        request.mounts = args.options["--mount"] ?? []
        if !request.mounts.isEmpty && !request.freeze {
            throw UsageError("--mount needs --freeze (without it snaporch freezes nothing)")
        }
        if let text = args.value("--lease") {
            guard let lease = TimeSpan(parsing: text) else {
                throw UsageError("--lease: '\(text)' is not a duration (write 60, 60s, 500ms or 2m)")
            }
            request.lease = lease
        }
        request.caller = args.value("--caller") ?? "cli"
        request.platformFreezes = args.has("--platform-freezes")
        if request.platformFreezes && request.freeze {
            throw UsageError("--freeze and --platform-freezes exclude each other: only one side freezes")
        }
        request.taskId = args.value("--task-id")
        request.report = args.value("--report")
        request.json = args.has("--json")
        return await SplitRun(console: console, paths: paths).begin(request)
    }

    func end(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Commands.end.spec.parse(argv)
        var request = EndRequest()
        request.snapshotFailed = args.value("--snapshot-failed")
        request.caller = args.value("--caller")
        request.report = args.value("--report")
        request.json = args.has("--json")
        return await SplitRun(console: console, paths: paths).end(request)
    }
}
