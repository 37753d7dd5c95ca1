/// What one span of the run timeline measures.
///
/// Encoded as the report's `step` string (`pre:NAME`, `hold:NAME`, `release:NAME`, `post:NAME`, `snapshot:prepare`,
/// `freeze:prepare`, `snapshot`, `freeze-window`), so the JSON is the one the report contract
/// names; a string this version does not know (a report of a later version) is kept as `other`.
package enum TimelineStep: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A plugin's pre step.
    case pre(plugin: String)
    /// A plugin's hold step (right before the freeze).
    case hold(plugin: String)
    /// A plugin's release step (right after the thaw).
    case release(plugin: String)
    /// A plugin's post step.
    case post(plugin: String)
    /// Preparing the snapshot calls (outside the window).
    case snapshotPrepare
    /// Preparing the freeze (opening mounts, starting the guard; outside the window).
    case freezePrepare
    /// The snapshot calls.
    case snapshot
    /// First FIFREEZE to last FITHAW.
    case freezeWindow
    /// A step name this version does not know, kept as written.
    case other(String)

    /// Parses the report's string form.
    package init(rawValue: String) {
        switch rawValue {
        case "snapshot:prepare": self = .snapshotPrepare
        case "freeze:prepare": self = .freezePrepare
        case "snapshot": self = .snapshot
        case "freeze-window": self = .freezeWindow
        default:
            let parts = rawValue.split(separator: ":", maxSplits: 1).map(String.init)
            if parts.count == 2, let phase = Phase(rawValue: parts[0]) {
                self = .plugin(phase, parts[1])
            } else {
                self = .other(rawValue)
            }
        }
    }

    /// The report's string form.
    package var rawValue: String {
        switch self {
        case .pre(let plugin): return "pre:\(plugin)"
        case .hold(let plugin): return "hold:\(plugin)"
        case .release(let plugin): return "release:\(plugin)"
        case .post(let plugin): return "post:\(plugin)"
        case .snapshotPrepare: return "snapshot:prepare"
        case .freezePrepare: return "freeze:prepare"
        case .snapshot: return "snapshot"
        case .freezeWindow: return "freeze-window"
        case .other(let text): return text
        }
    }

    /// The plugin and phase of a plugin step, nil for the other steps.
    package var pluginStep: (phase: Phase, plugin: String)? {
        switch self {
        case .pre(let plugin): return (.pre, plugin)
        case .hold(let plugin): return (.hold, plugin)
        case .release(let plugin): return (.release, plugin)
        case .post(let plugin): return (.post, plugin)
        default: return nil
        }
    }

    /// The step of `plugin` in `phase`.
    package static func plugin(_ phase: Phase, _ plugin: String) -> TimelineStep {
        switch phase {
        case .pre: .pre(plugin: plugin)
        case .hold: .hold(plugin: plugin)
        case .release: .release(plugin: plugin)
        case .post: .post(plugin: plugin)
        }
    }

    /// The report's string form.
    package var description: String { rawValue }

    package init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
