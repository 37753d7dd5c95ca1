import Foundation
import SnapCore
import SnapSystem

/// Usage texts, derived from the command declarations (`Commands`).
package enum HelpText {
    /// The overview printed by `snaporch help` and on usage errors.
    package static var overview: String {
        let width = (Commands.all.map(\.name.count).max() ?? 0) + 3
        let list = Commands.all.map { "  " + $0.name.rightPadded(width) + $0.summary }.joined(separator: "\n")
        return """
            snaporch — application-consistent disk snapshots for Linux VMs

            Usage: snaporch <command> [options]

            Commands:
            \(list)

            Files: /etc/azure/prepost/prepost.yaml (resolved under $SNAPORCH_ROOT when set)
            """
    }

    /// Per-command help (nil for an unknown or hidden command).
    package static func forCommand(_ name: String) -> String? {
        guard let command = Commands.all.first(where: { $0.name == name }) else { return nil }
        return command.helpText
    }
}
