import Foundation
import SnapCore
import SnapSystem

extension HookCommand {
    /// `begin` for a platform hook: the split run's `begin`, called in-process, with the caller
    /// recorded and, for qemu-ga and VMware Tools, the platform's own freeze declared.
    func begin(_ hook: HookBegin, _ args: Arguments) async throws(UsageError) -> Int32 {
        var request = BeginRequest()
        request.config = args.value("--config")
        request.freeze = hook.freeze
        request.mounts = hook.freeze ? hook.mounts : []
        request.lease = try lease(args)
        request.caller = hook.caller.rawValue
        request.platformFreezes = hook.caller.platformFreezes
        request.json = args.has("--json")
        request.notes = hook.notes
        return await SplitRun(console: console, paths: paths).begin(request)
    }

    /// `end` for a platform hook: the split run's `end`, in-process.
    func end(_ hook: HookEnd, _ args: Arguments) async throws(UsageError) -> Int32 {
        var request = EndRequest()
        request.snapshotFailed = hook.snapshotFailed
        request.caller = hook.caller.rawValue
        request.repeatWithin = hook.repeatWithin
        request.json = args.has("--json")
        return await SplitRun(console: console, paths: paths).end(request)
    }

    /// `--lease D`, when given.
    private func lease(_ args: Arguments) throws(UsageError) -> TimeSpan? {
        guard let text = args.value("--lease") else { return nil }
        guard let lease = TimeSpan(parsing: text) else {
            throw UsageError("--lease: '\(text)' is not a duration (write 60, 60s, 500ms or 2m)")
        }
        return lease
    }
}
