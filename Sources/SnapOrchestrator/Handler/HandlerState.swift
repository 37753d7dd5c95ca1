import Foundation
import Glibc

/// What the handler remembers between invocations (under `/var/lib/snaporch/handler.json`): the
/// last sequence number and task it ran, whether that run finished, and its terminal status —
/// for de-duplication and for recovering a daemon that died.
public struct HandlerState: Sendable, Codable, Hashable {
    public var sequence: Int?
    public var taskId: String?
    /// `running` while a daemon owns the run, `done` after its terminal status was written.
    public var phase: String = "done"
    public var pid: Int32?
    /// Start time of `pid`, so that a reused pid is not taken for the daemon.
    public var pidStartTime: UInt64?
    /// The terminal status blob document of the last finished run.
    public var lastStatusBlob: String?
    public var lastStatusCode: Int?
    public var lastStatus: String?

    public init() {}

    static func path(_ paths: Paths) -> String { paths.stateDir + "/handler.json" }

    public static func load(_ paths: Paths) -> HandlerState {
        guard let data = FileManager.default.contents(atPath: path(paths)),
            let state = try? JSONDecoder().decode(HandlerState.self, from: data)
        else { return HandlerState() }
        return state
    }

    public func save(_ paths: Paths) {
        try? FileSystem.makeDirectory(paths.stateDir, mode: 0o700)
        if let data = try? JSONEncoder().encode(self) {
            try? FileSystem.writeAtomically(Array(data), to: Self.path(paths))
        }
    }

    /// True when the daemon that owned the run is gone without finishing.
    public var daemonDied: Bool {
        guard phase == "running", let pid else { return false }
        return !ProcessLiveness.isAlive(pid, startTime: pidStartTime)
    }
}
