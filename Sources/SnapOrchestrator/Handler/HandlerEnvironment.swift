import Foundation
import SnapCore
import SnapSystem

/// `HandlerEnvironment.json`, read from the extension's directory (the working directory of
/// the handler commands). Both the array form and the single-object form are accepted.
package struct HandlerEnvironment: Sendable, Hashable {
    package var name: String
    package var version: String
    package var logFolder: String
    package var configFolder: String
    package var statusFolder: String
    package var heartbeatFile: String?
    /// Where extension events go (`eventsFolder`; absent with agents that do not collect them).
    package var eventsFolder: String?

    /// Parses the file's bytes; the error names the file and the missing field.
    package static func parse(_ data: Data, file: String) throws(HandlerError) -> HandlerEnvironment {
        guard let json = try? JSONSerialization.jsonObject(with: data) else {
            throw HandlerError(code: .parameterError, "\(file): not valid JSON")
        }
        let object: [String: Any]?
        if let array = json as? [Any] {
            object = array.first as? [String: Any]
        } else {
            object = json as? [String: Any]
        }
        guard let object, let env = object["handlerEnvironment"] as? [String: Any] else {
            throw HandlerError(code: .parameterError, "\(file): missing 'handlerEnvironment'")
        }
        func field(_ key: String) throws(HandlerError) -> String {
            guard let value = env[key] as? String, !value.isEmpty else {
                throw HandlerError(code: .parameterError, "\(file): missing 'handlerEnvironment.\(key)'")
            }
            return value
        }
        return HandlerEnvironment(
            name: object["name"] as? String ?? HandlerStatus.extensionName,
            version: object["version"].map { "\($0)" } ?? "1.0",
            logFolder: try field("logFolder"), configFolder: try field("configFolder"),
            statusFolder: try field("statusFolder"), heartbeatFile: env["heartbeatFile"] as? String,
            eventsFolder: (env["eventsFolder"] as? String).flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Reads `HandlerEnvironment.json` from `directory`.
    package static func load(from directory: String) throws(HandlerError) -> HandlerEnvironment {
        let path = directory + "/HandlerEnvironment.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HandlerError(
                code: .parameterError, "\(path): cannot read (run the handler from the extension directory)")
        }
        return try parse(data, file: path)
    }
}

/// A handler-level failure with the Azure code it maps to.
package struct HandlerError: Error, Sendable, Hashable, CustomStringConvertible {
    package var code: HandlerCode
    package var message: String

    package init(code: HandlerCode, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}

/// The status codes of the handler protocol that are not run errors (reference §7).
package enum HandlerCode: Int, Sendable, Hashable {
    case successAppConsistent = 0
    case success = 1
    case error = 2
    case alreadyProcessed = 3
    case transitioning = 4
    case parameterError = 11
    case certificateNotFound = 16
    case commandTooLate = 402
}
