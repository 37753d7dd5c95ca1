import Foundation
import SnapCore
import SnapSystem

/// Extension events for the guest agent (reference azure-protocols §B.7, azure-vmsnapshot §5.5): the
/// original forwards messages of level Warning and above, as a JSON array of its event objects, to
/// `eventsFolder`; the agent collects `<digits>.json` files from there every few minutes.
///
/// Each file is written under a dot-prefixed temporary name and renamed, so the agent never reads a
/// partial file. The folder is never created (it is the agent's); without one, nothing is written.
/// Never called inside a freeze window (the handler reports before and after a run only).
package struct ExtensionEvents: Sendable {
    /// The event levels the original uses (`LogSeverity.json`); Warning (2) and above are forwarded.
    package enum Level: Int, Sendable, Comparable {
        case verbose = 0, info, warning, error

        var name: String {
            switch self {
            case .verbose: return "Verbose"
            case .info: return "Informational"
            case .warning: return "Warning"
            case .error: return "Error"
            }
        }

        package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Messages longer than this are cut (the agent trims to 3072 and drops events over ~6 KiB).
    static let messageLimit = 3000
    /// Events below this level are not forwarded.
    static let threshold = Level.warning

    let folder: String?
    let version: String
    let operationId: String

    /// - Parameters:
    ///   - folder: `eventsFolder` of HandlerEnvironment.json (nil: events are off).
    ///   - version: the extension version (`Version` of the event).
    ///   - operationId: the task id (the zero GUID when there is none), as the original sets it.
    package init(folder: String?, version: String, operationId: String) {
        self.folder = folder
        self.version = version
        self.operationId = operationId.isEmpty ? "00000000-0000-0000-0000-000000000000" : operationId
    }

    /// Writes one event file holding `messages` of `level` (nothing below Warning); returns its path.
    @discardableResult
    package func write(_ level: Level, _ messages: [String], taskName: String = "Enable") -> String? {
        guard level >= Self.threshold, !messages.isEmpty, let folder else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        let stamp = UTCTimestamp.now().iso8601
        let redactor = Redactor()
        let events: [OrderedJSON] = messages.map { message in
            var text = redactor.redact("\(stamp)\t[\(level.name)]:\t\(message)")
            if text.count > Self.messageLimit { text = String(text.prefix(Self.messageLimit)) }
            return .object([
                ("Version", .string(version)), ("Timestamp", .string(stamp)), ("TaskName", .string(taskName)),
                ("EventLevel", .string(level.name)), ("Message", .string(text)),
                ("EventPid", .string(String(ThisProcess.id))), ("EventTid", .string(String(ThisProcess.threadID))),
                ("OperationId", .string(operationId)),
            ])
        }
        let name = String(Sys.epochNanos()) + ".json"
        let path = folder + "/" + name
        let temp = folder + "/." + name + ".tmp"
        do {
            try FileSystem.writeAtomically(Array(OrderedJSON.array(events).serialized().utf8), to: temp, mode: 0o600)
            do {
                try FileSystem.rename(temp, to: path)
            } catch {
                FileSystem.remove(temp)
                return nil
            }
            return path
        } catch {
            return nil
        }
    }
}
