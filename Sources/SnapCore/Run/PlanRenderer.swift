import Foundation
import SnapSystem

/// Renders a `Plan` as the numbered list `--dry-run` prints.
package enum PlanRenderer {
    /// The plan as text; secrets (SAS queries) are never shown.
    package static func render(_ plan: Plan) -> String {
        var lines: [String] = []
        var n = 0
        func step(_ text: String) {
            n += 1
            lines.append("\(String(n).leftPadded(3)). \(text)")
        }
        lines.append("Plan for \(plan.config.source) (dry run: nothing is executed)")
        step("take the run lock, recover an interrupted run if the journal says so")
        for entry in plan.entries {
            let spec = entry.spec
            guard
                let command = PluginFactory.make(spec, launcher: PosixProcessLauncher()).describe(.pre)
                    ?? describeBuiltIn(spec)
            else {
                continue
            }
            var text =
                "pre  \(spec.name): \(command)  [timeout \(spec.timeout), retries \(spec.retries), on_failure \(spec.onFailure.rawValue)]"
            if spec.isDropIn { text += " (drop-in)" }
            if let refusal = entry.preRefusal {
                text += "\n       ! will fail (\(refusal.code.rawValue)): \(refusal.message)"
            }
            step(text)
        }
        stage(.hold, plan, step)
        if plan.freezes {
            if plan.mounts.isEmpty {
                step("freeze: no mount selected (snapshot would be crash-consistent)")
            } else {
                step(
                    "sync, then freeze \(plan.mounts.count) mount(s) through the guard, thaw by itself after \(plan.config.freeze.timeout): "
                        + plan.mounts.map { "\($0.mountPoint) (\($0.fsType))" }.joined(separator: ", "))
            }
            for error in plan.mountErrors { lines.append("       ! \(error)") }
            for skip in plan.skippedMounts {
                lines.append("       - skip \(skip.mountPoint) (\(skip.fsType)): \(skip.reason)")
            }
        } else {
            step("freeze: off (\(plan.options.freeze ? "freeze.enabled is false" : "--no-freeze"))")
        }
        if plan.snapshots {
            let provider = plan.config.snapshot.provider
            switch provider {
            case .command:
                step(
                    "snapshot via command: \(plan.config.snapshot.command.map(ShellQuote.quote).joined(separator: " ")) [timeout \(plan.config.snapshot.timeout)]"
                )
            case .blob:
                step(
                    "snapshot \(plan.disks.count) blob disk(s) in parallel [timeout \(plan.config.snapshot.timeout)]: "
                        + plan.disks.map(\.display).joined(separator: ", "))
            default:
                step("snapshot via \(provider.rawValue) [timeout \(plan.config.snapshot.timeout)]")
            }
        } else {
            step("snapshot: off (\(plan.options.snapshot ? "provider none" : "--no-snapshot"))")
        }
        if plan.freezes && !plan.mounts.isEmpty {
            step("thaw in reverse order: " + plan.mounts.reversed().map(\.mountPoint).joined(separator: ", "))
        }
        stage(.release, plan, step)
        for entry in plan.entries.reversed() {
            let spec = entry.spec
            guard
                let command = PluginFactory.make(spec, launcher: PosixProcessLauncher()).describe(.post)
                    ?? describeBuiltIn(spec)
            else {
                continue
            }
            var text = "post \(spec.name): \(command)  [timeout \(spec.timeout)] (runs if its pre started)"
            if let refusal = entry.postRefusal {
                text += "\n       ! will fail (\(refusal.code.rawValue)): \(refusal.message)"
            }
            step(text)
        }
        step("write the report and the status")
        for skip in plan.skippedDropIns { lines.append("  drop-in skipped: \(skip.path): \(skip.reason)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The hold steps (in order, right before the freeze) or the release steps (in reverse, right
    /// after the thaw) of the plugins that have them.
    private static func stage(_ phase: Phase, _ plan: Plan, _ step: (String) -> Void) {
        let entries = phase == .hold ? plan.entries : plan.entries.reversed()
        for entry in entries {
            let plugin = PluginFactory.make(entry.spec, launcher: PosixProcessLauncher())
            guard plugin.hasHold, let command = plugin.describe(phase) else { continue }
            let name = entry.spec.name
            var text =
                phase == .hold
                ? "hold \(name): \(command)  [timeout \(entry.spec.timeout)] (right before the freeze, after every pre)"
                : "release \(name): \(command)  [timeout \(entry.spec.timeout)] (right after the thaw, before every post)"
            if let refusal = phase == .hold ? entry.holdRefusal : entry.releaseRefusal {
                text += "\n       ! will fail (\(refusal.code.rawValue)): \(refusal.message)"
            }
            step(text)
        }
    }

    private static func describeBuiltIn(_ spec: PluginSpec) -> String? {
        spec.kind == .script ? nil : "built-in \(spec.kind.rawValue) plugin"
    }
}

extension String {
    package func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    package func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
