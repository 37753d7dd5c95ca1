import Foundation
import SnapCore
import SnapSystem

/// `snaporch thaw [--all] [MOUNT…]`.
struct ThawCommand {
    let console: Console

    func run(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try Commands.thaw.spec.parse(argv)
        var targets = args.operands
        if args.has("--all") {
            if isPrivateRoot() && targets.isEmpty {
                throw UsageError("--all is refused under a test SNAPORCH_ROOT: name the mounts")
            }
            let entries = MountTable.entries()
            var seen = Set<String>()
            for entry in entries.reversed()
            where !MountSelector.unfreezableTypes.contains(entry.fsType)
                && !entry.isReadOnly && seen.insert(entry.device).inserted
            {
                targets.append(entry.mountPoint)
            }
        }
        guard !targets.isEmpty else { throw UsageError("name the mounts to thaw, or give --all") }
        var failed = false
        var results: [EmergencyThaw.Result] = []
        for mount in targets {
            let result = EmergencyThaw.thaw(mount)
            results.append(result)
            if let error = result.error {
                failed = true
                console.err("\(mount): \(error)\n")
            } else if !args.has("--json") {
                console.out(
                    result.thaws == 0 ? "\(mount): not frozen\n" : "\(mount): thawed (\(result.thaws) level(s))\n")
            }
        }
        if args.has("--json") { console.out(JSONOutput.encode(results) + "\n") }
        return failed ? ExitCode.failed : ExitCode.ok
    }
}
